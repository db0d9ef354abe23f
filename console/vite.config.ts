// Builds the console the daemon serves under /console/ (callcore/console/). No CDN: every file
// is in dist/, hashed names under assets/ (cached for a year by the daemon).
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'

// What the first page load must fetch before anything shows: the entry chunk and every chunk it
// imports statically (the pages load on demand). Printed after each build, refused past the limit.
const INITIAL_JS_LIMIT_KB = 600
// Node's zlib, typed here: the console's type check has no Node typings (this file runs in Node).
const ZLIB = 'node:zlib'
const FS = 'node:fs'
const PATH = 'node:path'
type Zlib = { gzipSync(data: Uint8Array, options?: { level?: number }): Uint8Array }
type Fs = { readFileSync(path: string): Uint8Array; writeFileSync(path: string, data: Uint8Array): void }
type NodePath = { join(...parts: string[]): string }

function initialJsSize(): Plugin {
  let report = ''
  return {
    name: 'callcore-initial-js-size',
    apply: 'build',
    async generateBundle(_options, bundle) {
      const { gzipSync } = (await import(/* @vite-ignore */ ZLIB)) as Zlib
      const chunks = new Map<string, { code: string; imports: string[] }>()
      const entries: string[] = []
      for (const [name, out] of Object.entries(bundle)) {
        if (out.type !== 'chunk') continue
        chunks.set(name, { code: out.code, imports: out.imports })
        if (out.isEntry) entries.push(name)
      }
      const seen = new Set<string>()
      const visit = (name: string): void => {
        if (seen.has(name) || !chunks.has(name)) return
        seen.add(name)
        for (const dep of chunks.get(name)!.imports) visit(dep)
      }
      entries.forEach(visit)
      let raw = 0
      let gzip = 0
      for (const name of seen) {
        const code = new TextEncoder().encode(chunks.get(name)!.code)
        raw += code.length
        gzip += gzipSync(code, { level: 9 }).length
      }
      const kb = (n: number): string => (n / 1024).toFixed(1)
      const line = `initial JS (${seen.size} files: ${[...seen].map((n) => n.replace(/^assets\//, '')).join(', ')}): ` +
        `${kb(raw)} kB, gzip ${kb(gzip)} kB (limit ${INITIAL_JS_LIMIT_KB} kB gzipped)`
      report = line
      if (gzip / 1024 > INITIAL_JS_LIMIT_KB) this.error(`the initial JS is over ${INITIAL_JS_LIMIT_KB} kB gzipped: ${line}`)
    },
    closeBundle() {
      if (report) console.log(report)
    },
  }
}

// Text files worth compressing: the daemon (aiohttp's FileResponse) serves `x.js.gz` in place of
// `x.js` to a browser that accepts gzip, so a console on a real network fetches a third of the bytes.
const COMPRESSIBLE = /\.(js|css|html|svg|json|map)$/
const COMPRESS_ABOVE = 1024

function gzipSiblings(): Plugin {
  return {
    name: 'callcore-gzip-siblings',
    apply: 'build',
    async writeBundle(options, bundle) {
      const { gzipSync } = (await import(/* @vite-ignore */ ZLIB)) as Zlib
      const fs = (await import(/* @vite-ignore */ FS)) as Fs
      const { join } = (await import(/* @vite-ignore */ PATH)) as NodePath
      const dir = options.dir ?? 'dist'
      for (const name of Object.keys(bundle)) {
        if (!COMPRESSIBLE.test(name)) continue
        const file = join(dir, name)
        const data = fs.readFileSync(file)
        if (data.length > COMPRESS_ABOVE) fs.writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }))
      }
    },
  }
}

export default defineConfig({
  base: '/console/',
  plugins: [vue(), initialJsSize(), gzipSiblings()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: true,
    rollupOptions: {
      output: {
        // The libraries change less often than the app: their own chunks stay cached across releases.
        manualChunks(id: string) {
          if (id.includes('node_modules/element-plus') || id.includes('node_modules/@element-plus')) return 'element-plus'
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts'
          if (id.includes('node_modules/@codemirror') || id.includes('node_modules/codemirror') ||
              id.includes('node_modules/@lezer') || id.includes('node_modules/crelt') ||
              id.includes('node_modules/style-mod') || id.includes('node_modules/w3c-keyname')) return 'codemirror'
          if (id.includes('node_modules/vue') || id.includes('node_modules/@vue')) return 'vue'
          return undefined
        },
      },
    },
  },
  server: {
    // `npm run dev` against a daemon on the default port.
    proxy: { '/api': { target: 'http://127.0.0.1:8096', ws: true } },
  },
})

// Builds the console the daemon serves under /console/ (callcore/console/). No CDN: every file
// is in dist/, hashed names under assets/ (cached for a year by the daemon).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  base: '/console/',
  plugins: [vue()],
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

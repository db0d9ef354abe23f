// Files the API makes (ticket exports, the S-1 spreadsheet) saved by the browser: a link cannot carry
// the bearer header, so the file is fetched with it, its progress reported as it arrives, then handed
// to the browser as a download under the name the API gave it.
import { ApiError, type FieldFault } from './api'
import { session } from './session'

type Query = Record<string, string | number | undefined>

// The name in `Content-Disposition: attachment; filename="..."`.
function fileName(disposition: string | null, fallback: string): string {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition ?? '')
  return m ? decodeURIComponent(m[1]) : fallback
}

async function failure(resp: Response): Promise<ApiError> {
  let d: { error_id?: string; message?: string; detail?: string; details?: FieldFault[] } = {}
  try {
    d = (await resp.json()) as typeof d
  } catch {
    /* not JSON: the status says enough */
  }
  if (resp.status === 401 && session.token) session.expire()
  // Read as api.ts reads an error body: the Chinese message, the English detail, the faulty fields.
  return new ApiError(resp.status, d.error_id ?? '', d.detail ?? d.message ?? '', Array.isArray(d.details) ? d.details : [],
    d.message ?? '')
}

/** Downloads `path` (under /api/v1) and saves it; `progress` gets 0..100 (or -1 when the size is unknown). */
export async function download(path: string, query: Query, fallback: string,
                               progress: (percent: number) => void): Promise<string> {
  const url = new URL('/api/v1' + path, window.location.origin)
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v))
  let resp: Response
  try {
    resp = await fetch(url, { headers: { Authorization: `Bearer ${session.token}` } })
  } catch {
    throw new ApiError(0, 'network', '', [])
  }
  if (!resp.ok) throw await failure(resp)
  const total = Number(resp.headers.get('Content-Length') ?? 0)
  const parts: BlobPart[] = []
  let received = 0
  const reader = resp.body?.getReader()
  progress(total ? 0 : -1)
  while (reader) {
    const { done, value } = await reader.read()
    if (done) break
    parts.push(value)
    received += value.length
    if (total) progress(Math.min(100, Math.round((received * 100) / total)))
  }
  const blob = new Blob(parts, { type: resp.headers.get('Content-Type') ?? 'application/octet-stream' })
  const name = fileName(resp.headers.get('Content-Disposition'), fallback)
  const href = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = href
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(href), 10_000)
  progress(100)
  return name
}

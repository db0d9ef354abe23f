// The one way the console calls the daemon's JSON API: bearer token, JSON in and out, and an
// ApiError whose text is readable Chinese (the API's Chinese message is kept as text, its English as detail).
import { ACTION_TEXT } from './labels'
import { session } from './session'

export interface FieldFault {
  field?: string
  line?: number
  message: string
}

const STATUS_TEXT: Record<number, string> = {
  0: '无法连接服务器，请检查网络或稍后重试',
  400: '输入有误',
  401: '登录已失效，请重新登录',
  403: '无权执行此操作',
  404: '未找到要操作的对象',
  409: '当前状态不允许此操作',
  413: '内容过大',
  429: '操作过于频繁，请稍后再试',
  500: '服务器内部错误',
  503: '服务暂不可用，请稍后重试',
}

const ERROR_TEXT: Record<string, string> = {
  invalid_menu: '菜单校验未通过',
  illegal_transition: '工单当前状态不允许此操作',
  not_permitted: '您的角色无权对该工单执行此操作',
  ticket_not_found: '工单不存在或不在您的权限范围内',
  number_refused: '该号码不能外呼',
  no_outbound_trunk: '无法外呼',
  recording_missing: '录音文件缺失',
  recording_deleted: '录音已删除',
  recording_in_progress: '录音尚未结束',
}

export class ApiError extends Error {
  status: number
  errorId: string
  detail: string
  text: string
  faults: FieldFault[]

  constructor(status: number, errorId: string, detail: string, faults: FieldFault[], text = '') {
    const base = ERROR_TEXT[errorId] ?? STATUS_TEXT[status] ?? `请求失败（${status}）`
    const first = faults[0]
    const where = first?.line ? `第 ${first.line} 行` : first?.field ? `字段 ${first.field}` : ''
    super(where ? `${base}（${where}）` : base)
    this.status = status
    this.errorId = errorId
    this.detail = detail
    this.text = text
    this.faults = faults
  }
}

const STATUS_NAME: Record<string, string> = {
  new: '已受理', dispatched: '待签收', processing: '办理中', paused: '暂停计时', returned: '已退回', replied: '已答复',
  closed: '已办结', rejected: '不予受理', review: '复核中', merged: '已合并', archived: '已归档',
}

const CALLBACK_STATE: Record<string, string> = {
  reached: '已接通', failed: '未接通', expired: '已过期', cancelled: '已取消',
}

// The workflow's refusals say which step and which state: say it in Chinese too.
function readable(e: ApiError): string {
  const m = /action '(\w+)' is not allowed on a ticket in state '(\w+)'(?::\s*(.*))?$/.exec(e.detail)
  // The workflow's own Chinese reason when it gives one (已超期，不能暂停计时; 延期申请待审批…), else the state.
  if (m?.[3] && /[\u4e00-\u9fff]/.test(m[3])) return m[3]
  // Or its reason given apart in Chinese (a deadline passed, a request pending), not the state's wording.
  if (m && e.text && !e.text.startsWith(ERROR_TEXT.illegal_transition)) return e.text
  if (m) return `工单已是“${STATUS_NAME[m[2]] ?? m[2]}”状态，不能${ACTION_TEXT[m[1]] ?? m[1]}（可能已被他人处理，请刷新）`
  const ring = /^agent (\w+) cannot be rung now(?::\s*(.*))?$/.exec(e.detail)
  if (ring) return `坐席 ${ring[1]} 当前不能外呼${ring[2] ? `：${ring[2]}` : ''}`
  const task = /^callback task \S+ (is already (\w+)|is being dialled now)$/.exec(e.detail)
  if (task) return task[2] ? `回拨任务已是“${CALLBACK_STATE[task[2]] ?? task[2]}”状态` : '回拨任务正在呼叫中，暂不能取消'
  // Otherwise the API's own Chinese message.
  return e.text || e.detail
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.detail ? `${e.message}：${readable(e)}` : e.message
  return e instanceof Error ? e.message : String(e)
}

type Query = Record<string, string | number | boolean | undefined | null>

// The request with the bearer header; a network failure as an ApiError.
async function send(method: string, path: string, body: unknown, query: Query | undefined, accept: string): Promise<Response> {
  const url = new URL('/api/v1' + path, window.location.origin)
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v))
  }
  const headers: Record<string, string> = { Accept: accept }
  if (session.token) headers.Authorization = `Bearer ${session.token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  try {
    return await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch {
    throw new ApiError(0, 'network', '', [])
  }
}

// A refusal's body (``text``) read as an ApiError; an expired session is ended.
function refusal(resp: Response, text: string, path: string): ApiError {
  let data: unknown = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  const d = (data ?? {}) as { error_id?: string; message?: string; detail?: string; details?: FieldFault[] }
  const err = new ApiError(resp.status, d.error_id ?? '', d.detail ?? d.message ?? '',
    Array.isArray(d.details) ? d.details : [], d.message ?? '')
  if (resp.status === 401 && session.token && path !== '/auth/login') session.expire()
  return err
}

export async function api<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const resp = await send(method, path, body, query, 'application/json')
  if (resp.status === 204) return undefined as T
  const text = await resp.text()
  if (!resp.ok) throw refusal(resp, text, path)
  try {
    return (text ? JSON.parse(text) : null) as T
  } catch {
    return null as T
  }
}

/** A page the API renders (the transfer slip, the urge notice) as HTML text: a link cannot carry the
 * bearer header, so the page is fetched with it and shown by the caller. */
export async function getHtml(path: string, query?: Query): Promise<string> {
  const resp = await send('GET', path, undefined, query, 'text/html')
  const text = await resp.text()
  if (!resp.ok) throw refusal(resp, text, path)
  return text
}

export const get = <T>(path: string, query?: Query) => api<T>('GET', path, undefined, query)
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {})
export const put = <T>(path: string, body?: unknown) => api<T>('PUT', path, body)

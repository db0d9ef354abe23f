// Chinese names of the API's codes (roles, agent states, ticket statuses, modes, outcomes).
export const ROLE_TEXT: Record<string, string> = {
  agent: '话务员', dispatcher: '派单员', supervisor: '班长', handler: '承办单位', leader: '领导', admin: '管理员',
}

export const AGENT_STATUS: Record<string, { text: string; type: '' | 'success' | 'warning' | 'danger' | 'info' | 'primary' }> = {
  logged_out: { text: '未签入', type: 'info' },
  available: { text: '就绪', type: 'success' },
  ringing: { text: '振铃中', type: 'warning' },
  on_call: { text: '通话中', type: 'danger' },
  wrap_up: { text: '话后整理', type: 'primary' },
  paused: { text: '小休', type: 'warning' },
}

export const PAUSE_REASONS = ['休息', '用餐', '培训', '会议', '其他']

export const MODES: { value: string; text: string }[] = [
  { value: 'self', text: '自办' },
  { value: 'transfer', text: '转送' },
  { value: 'assign', text: '交办' },
  { value: 'cohandle', text: '协办' },
  { value: 'supervise', text: '督办' },
]

export const MODE_TEXT: Record<string, string> = Object.fromEntries(MODES.map((m) => [m.value, m.text]))

export const COLOUR: Record<string, { text: string; type: 'success' | 'warning' | 'danger' }> = {
  green: { text: '正常', type: 'success' },
  yellow: { text: '临期', type: 'warning' },
  red: { text: '超期', type: 'danger' },
}

export const SATISFACTION: { value: string; text: string }[] = [
  { value: 'satisfied', text: '满意' },
  { value: 'basically_satisfied', text: '基本满意' },
  { value: 'unsatisfied', text: '不满意' },
  { value: 'unknown', text: '未评价' },
]

export const REJECT_REASONS: { value: string; text: string }[] = [
  { value: 'unlawful', text: '内容违法' },
  { value: 'out_of_jurisdiction', text: '不属本辖区管辖' },
  { value: 'in_litigation', text: '已进入诉讼、行政复议或仲裁程序' },
  { value: 'department_not_in_system', text: '承办单位未纳入系统' },
  { value: 'emergency_referred', text: '紧急事项已转110/119/120/122' },
]

export function seconds(total: number): string {
  const s = Math.max(0, Math.floor(total))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const r = s % 60
  const mm = String(m).padStart(2, '0')
  const ss = String(r).padStart(2, '0')
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

export function localTime(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' })
}

export function percent(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`
}

export const ACTION_TEXT: Record<string, string> = {
  create: '受理', answer: '即办答复', reject: '不予受理', dispatch: '派发', sign: '签收', return: '退回',
  reply: '答复', close: '办结', redo: '重办', review: '复核', request_extension: '申请延期',
  approve_extension: '批准延期', refuse_extension: '不批准延期', urge: '催办', explain: '情况说明',
  supervise: '督办', note: '备注', sample: '抽样回访', rate: '回访评价', link: '关联', merge: '合并', archive: '归档',
  withdraw_sample: '撤销回访抽样', pause: '暂停计时', resume: '恢复计时', reclassify: '更正类别', correct: '更正信息',
  instruct: '领导批示', recompute: '重新计算办理期限',
}

// Why a ticket's clock stops (W-7: 听证、评审、踏勘 do not count against the department), and what a
// correction may change: the API's codes (callcore/tickets/workflow.py PAUSE_KINDS, CORRECTABLE).
export const PAUSE_KINDS: Record<string, string> = { hearing: '听证', review: '评审', survey: '踏勘' }
export const CORRECTABLE: Record<string, string> = { address: '地址', content: '诉求内容' }

// Callback tasks (漏接回拨) and their attempts; voicemail.
export const CALLBACK_STATUS: Record<string, { text: string; type: 'success' | 'warning' | 'danger' | 'info' | 'primary' }> = {
  pending: { text: '待回拨', type: 'warning' },
  dialling: { text: '回拨中', type: 'primary' },
  reached: { text: '已接通', type: 'success' },
  failed: { text: '未接通', type: 'danger' },
  expired: { text: '已过期', type: 'info' },
  cancelled: { text: '已取消', type: 'info' },
}

export const CALLBACK_ORIGIN: Record<string, string> = {
  offer: '排队预约回拨', missed: '漏接来电', voicemail: '语音留言',
}

export const ATTEMPT_OUTCOME: Record<string, string> = {
  dialling: '呼叫中', talking: '通话中', reached: '已接通', no_answer: '无人接听', busy: '占线', failed: '呼叫失败',
  agent_gone: '坐席离开', interrupted: '系统中断',
}

export const CLOSED_REASON: Record<string, string> = {
  reached: '已回拨接通', reached_since: '市民已再次来电接通', deadline: '超过回拨时限', attempts: '已达最大尝试次数',
}

export const CANCEL_REASONS = ['市民已再次来电', '号码无效', '重复任务', '市民无需回拨', '其他']

export const VOICEMAIL_QUALITY: Record<string, string> = { too_short: '过短', silent: '无声' }

// The ticket as the API lists it, its detail with the history, the departments it is sent to, the
// categories it is filed under, and which of the detail's steps a person may take.
import { get } from './api'
import { ACTION_TEXT, CORRECTABLE, PAUSE_KINDS, SATISFACTION } from './labels'
import type { Me } from './session'

export interface Ticket {
  id: string
  number: string
  query_code: string
  caller_name: string
  phone: string
  address: string
  category: string
  category_name: string
  title: string
  content: string
  urgency: string
  received_at: string
  status: string
  status_text: string
  mode: string | null
  department_id: string | null
  due_date: string
  sign_by: string | null
  // The date a department asked to extend the deadline to, while the centre has not decided.
  extension_until: string | null
  urge_count: number
  merged_into_number: string | null
  colour: 'green' | 'yellow' | 'red'
  reply: string
  supervised: boolean
  paused_on: string | null
  pause_kind: string | null
  first_responsible_name: string | null
  department_name: string | null
  closed_at: string | null
  // The citizen's satisfaction (满意…) and the callback (回访): null, sampled, done or withdrawn.
  satisfaction: string | null
  satisfaction_text: string
  visit: string | null
}

export interface TicketEvent {
  seq: number
  at: string
  action: string
  actor_name: string
  role: string
  note: string
  data: Record<string, unknown>
  // The number of the ticket data.other_id names (link, merge).
  other_number: string | null
}

// Another ticket this one is linked to (关联) or merged with.
export interface TicketLink { other_id: string; other_number: string | null; kind: string }

export interface TicketDetail extends Ticket {
  history: TicketEvent[]
  links: TicketLink[]
}

/** A ticket the intake's duplicate check (GET /tickets/duplicates) finds like another. */
export interface Duplicate { ticket_id: string; number: string; reason: string; status_text: string; received_at: string }

export interface Page { items: Ticket[]; total: number; total_is_lower_bound: boolean }

export interface Department { id: string; code: string; name: string; active: boolean }

export interface Category { code: string; name: string; limit_days: number; active: boolean }

let departments: Promise<Department[]> | null = null

export function loadDepartments(): Promise<Department[]> {
  departments ??= get<Department[]>('/departments').catch((e) => {
    departments = null
    throw e
  })
  return departments
}

// After an admin adds or changes a department: the next dispatch dialog asks again.
export function forgetDepartments(): void {
  departments = null
}

/** The categories in use (asked each time: an admin may have just added one). */
export async function activeCategories(): Promise<Category[]> {
  return (await get<Category[]>('/categories')).filter((c) => c.active)
}

// The steps the ticket's detail offers (issue 14's workflow steps, the satisfaction callback of W-12,
// extensions, urging, links and merges of W-9..W-11), named as the history names them.
export const STEPS = ['request_extension', 'approve_extension', 'refuse_extension', 'urge', 'pause', 'resume',
  'reclassify', 'correct', 'link', 'merge', 'instruct', 'sample', 'rate', 'withdraw_sample'] as const
export type Step = (typeof STEPS)[number]

const TICKET_MANAGERS = ['dispatcher', 'supervisor', 'admin']
const CENTER = ['agent', ...TICKET_MANAGERS]
const OPEN = ['new', 'dispatched', 'processing', 'paused', 'returned', 'replied', 'review']
const AT_CENTER = ['new', 'returned', 'review']
const IN_HAND = ['dispatched', 'processing']

/** The steps ``me`` may take on the ticket now, by the workflow's rules (callcore/tickets/workflow.py):
 * the clock is paused and resumed by the lead department's handler, or by the centre's ticket managers
 * when no department handles it or for one; categories and texts are corrected by the ticket managers;
 * instructions (批示) are the leader's. A closed ticket is sampled for a callback (回访) by the ticket managers,
 * who may also withdraw the sample; the centre's staff on the phone record the citizen's rating.
 * The lead department (the centre for a ticket it handles itself) asks for an extension before the deadline
 * (red: overdue), one at a time; the ticket managers approve or refuse it, and urge an overdue ticket in hand.
 * The ticket managers link a ticket to another at any time and merge one still at the centre into another
 * (the API lets agents too; the console leaves duplicates to the dispatchers, as the intake's hints do).
 * Nobody is offered a button the API refuses for the role; the API checks again, and refuses in Chinese
 * what this cannot know (a ticket changed meanwhile). */
export function stepsFor(t: Ticket, me: Me | null): Step[] {
  if (!me || t.status === 'archived') return []
  const manager = TICKET_MANAGERS.includes(me.role)
  const center = CENTER.includes(me.role)
  const clock = t.department_id && me.role === 'handler' ? me.department_id === t.department_id : manager
  const lead = t.department_id ? me.role === 'handler' && me.department_id === t.department_id : center
  const overdue = t.colour === 'red'
  const steps: Step[] = []
  if (t.status === 'processing') {
    if (lead && !t.extension_until && !overdue) steps.push('request_extension')
    if (manager && t.extension_until) steps.push('approve_extension', 'refuse_extension')
  }
  if (manager && IN_HAND.includes(t.status) && overdue) steps.push('urge')
  if (clock && t.status === 'processing') steps.push('pause')
  if (clock && t.status === 'paused') steps.push('resume')
  if (manager && OPEN.includes(t.status)) steps.push('reclassify')
  if (manager) steps.push('correct')
  if (manager) steps.push('link')
  if (manager && AT_CENTER.includes(t.status)) steps.push('merge')
  if (me.role === 'leader') steps.push('instruct')
  if (t.status === 'closed') {
    if (manager && !t.visit) steps.push('sample')
    if (t.visit === 'sampled' && CENTER.includes(me.role)) steps.push('rate')
    if (t.visit === 'sampled' && manager) steps.push('withdraw_sample')
  }
  return steps
}

/** What the person reads once ``step`` is done; ``d`` is the ticket as the API answered. */
export function stepDone(step: Step, d: Ticket): string {
  switch (step) {
    case 'request_extension': return `已申请延期至 ${d.extension_until ?? ''}，待审批`
    case 'approve_extension': return `已批准延期，办结期限 ${d.due_date}`
    case 'refuse_extension': return `已不批准延期，办结期限仍为 ${d.due_date}`
    case 'urge': return `已催办（第 ${d.urge_count} 次）`
    case 'link': return '已关联'
    case 'merge': return `已合并至工单 ${d.merged_into_number ?? ''}`
    case 'pause': return '已暂停计时'
    case 'resume': return `已恢复计时，办结期限 ${d.due_date}`
    case 'reclassify': return `类别已更正为“${d.category_name || d.category}”，办结期限 ${d.due_date}`
    case 'correct': return '信息已更正'
    case 'instruct': return '批示已记录'
    case 'sample': return '已列入回访'
    case 'rate': return `回访评价“${d.satisfaction_text}”已记录`
    case 'withdraw_sample': return '已撤销回访抽样'
  }
}

/** What a step of the history changed, in a line (the reason, the old and new values, the new
 * deadline); '' for the steps whose note says it all. */
export function eventSummary(e: TicketEvent, categoryName: (code: string) => string): string {
  const d = e.data
  const text = (k: string) => (d[k] === undefined || d[k] === null ? '' : String(d[k]))
  const because = text('reason') ? `；原因：${text('reason')}` : ''
  switch (e.action) {
    case 'request_extension':
      return `申请延期至 ${text('until')}${text('days') ? `（${text('days')} 个工作日）` : ''}${because}`
    case 'approve_extension':
      return text('until') ? `办结期限延至 ${text('until')}` : ''
    case 'refuse_extension':
      return because.slice(1)
    case 'urge':
      return text('number') ? `第 ${text('number')} 次催办${text('due') ? `，办结期限 ${text('due')}` : ''}` : ''
    case 'link':
    case 'merge':
      return `工单 ${e.other_number ?? text('other_number')}`
    case 'pause':
      return `${PAUSE_KINDS[text('kind')] ?? text('kind')}：${text('reason')}`
    case 'resume': {
      const days = Number(d.paused_days ?? 0)
      return `${days > 0 ? `暂停 ${days} 个工作日，` : ''}办结期限 ${text('due_date')}`
    }
    case 'reclassify':
      return `${categoryName(text('from_category'))} → ${categoryName(text('category'))}，办结期限 ${text('due_date')}；` +
        `原因：${text('reason')}`
    case 'correct':
      return `${CORRECTABLE[text('field')] ?? text('field')}：“${text('old')}” → “${text('value')}”；原因：${text('reason')}`
    case 'instruct':
      return text('instructions')
    case 'rate':
      return SATISFACTION.find((s) => s.value === text('rating'))?.text ?? text('rating')
    case 'withdraw_sample':
      return `原因：${text('reason')}`
    default:
      return ''
  }
}

export const STEP_TEXT: Record<Step, string> = Object.fromEntries(STEPS.map((s) => [s, ACTION_TEXT[s]])) as Record<Step, string>

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
}

export interface TicketDetail extends Ticket {
  history: TicketEvent[]
}

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

// The steps the ticket's detail offers (issue 14's workflow steps, the satisfaction callback of W-12),
// named as the history names them.
export const STEPS = ['pause', 'resume', 'reclassify', 'correct', 'instruct', 'sample', 'rate', 'withdraw_sample'] as const
export type Step = (typeof STEPS)[number]

const TICKET_MANAGERS = ['dispatcher', 'supervisor', 'admin']
const CENTER = ['agent', ...TICKET_MANAGERS]
const OPEN = ['new', 'dispatched', 'processing', 'paused', 'returned', 'replied', 'review']

/** The steps ``me`` may take on the ticket now, by the workflow's rules (callcore/tickets/workflow.py):
 * the clock is paused and resumed by the lead department's handler, or by the centre's ticket managers
 * when no department handles it or for one; categories and texts are corrected by the ticket managers;
 * instructions (批示) are the leader's. A closed ticket is sampled for a callback (回访) by the ticket managers,
 * who may also withdraw the sample; the centre's staff on the phone record the citizen's rating. Nobody is
 * offered a button the API refuses for the role; the API checks again, and refuses in Chinese what this
 * cannot know (an overdue ticket, a pending extension). */
export function stepsFor(t: Ticket, me: Me | null): Step[] {
  if (!me || t.status === 'archived') return []
  const manager = TICKET_MANAGERS.includes(me.role)
  const clock = t.department_id && me.role === 'handler' ? me.department_id === t.department_id : manager
  const steps: Step[] = []
  if (clock && t.status === 'processing') steps.push('pause')
  if (clock && t.status === 'paused') steps.push('resume')
  if (manager && OPEN.includes(t.status)) steps.push('reclassify')
  if (manager) steps.push('correct')
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
  switch (e.action) {
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

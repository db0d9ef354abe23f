// Click-to-dial (T-12): the agent's own phone rings first, then the citizen. The agent is the
// user's own agent number, or the one a supervisor opened the desk for (AgentDesk sets it).
import { computed, ref } from 'vue'
import { post } from './api'
import { session } from './session'

export const DIALLERS = ['agent', 'supervisor', 'admin']

const chosen = ref('')

export const dialAgent = computed(() => session.me?.agent_number || chosen.value)

export function chooseAgent(number: string): void {
  chosen.value = number
}

// A number as the API gives it whole (a masked one, 139****0001, cannot be dialled).
export function wholeNumber(n: string | null | undefined): boolean {
  return /^\+?[0-9]{3,20}$/.test(n ?? '')
}

export interface Originated { call_id: string; agent: string }

// With ``callbackId`` the call serves that callback task (an attempt on it): the API dials the task's
// own number, so none is sent.
export function originate(number: string, ticketId?: string | null, callbackId?: string | null): Promise<Originated> {
  const ticket_id = ticketId || undefined
  return post<Originated>(`/agents/${dialAgent.value}/originate`,
    callbackId ? { callback: callbackId, ticket_id } : { number, ticket_id })
}

// The ticket as the API lists it, and the departments it is sent to.
import { get } from './api'

export interface Ticket {
  id: string
  number: string
  query_code: string
  caller_name: string
  phone: string
  address: string
  category: string
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
}

export interface Page { items: Ticket[]; total: number; total_is_lower_bound: boolean }

export interface Department { id: string; code: string; name: string; active: boolean }

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

// Who is logged in: the token (kept in sessionStorage: a shared PC's next user starts logged
// out once the tab closes) and the principal with the agent number the console starts from.
import { reactive } from 'vue'

export interface Me {
  user_id: string
  name: string
  role: string
  department_id: string | null
  agent_number: string | null
}

const KEY = 'callcore.session'

interface State {
  token: string
  me: Me | null
  expired: boolean
  expire(): void
  set(token: string, me: Me): void
  clear(): void
}

const saved = (() => {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as { token: string; me: Me } | null
  } catch {
    return null
  }
})()

export const session = reactive<State>({
  token: saved?.token ?? '',
  me: saved?.me ?? null,
  expired: false,
  expire() {
    this.expired = true
    this.clear()
  },
  set(token: string, me: Me) {
    this.token = token
    this.me = me
    this.expired = false
    sessionStorage.setItem(KEY, JSON.stringify({ token, me }))
  },
  clear() {
    this.token = ''
    this.me = null
    sessionStorage.removeItem(KEY)
  },
})

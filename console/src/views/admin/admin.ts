// What the admin pages share: their errors in Chinese and the answer of a confirmation box.
import { ApiError, errorText } from '../../api'

/** An admin page's error: the page's own words for a clash (a code or an account already taken),
 * else the API's message when it sends one, else the status in Chinese with the error id. */
export function adminError(e: unknown, conflict?: string): string {
  if (e instanceof ApiError) {
    if (e.status === 409 && conflict) return conflict
    if (!e.text && !e.detail && e.errorId) return `${e.message}（${e.errorId}）`
  }
  return errorText(e)
}

/** True when ElMessageBox.confirm was answered "no" (it rejects with the action's name). */
export function cancelled(e: unknown): boolean {
  return e === 'cancel' || e === 'close'
}

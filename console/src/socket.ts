// A live feed over a WebSocket the browser may open: ask for a one-time ticket with the bearer
// token (a browser WebSocket cannot send headers), open the socket with it, and reopen after a
// drop with a growing pause. Messages are JSON. When the login ends (logged out elsewhere, expired,
// the user disabled or changed by an admin) the daemon closes the feed with SESSION_ENDED: the
// session ends here too, the page goes to the login (App.vue), and the feed is not reopened.
import { ref, type Ref } from 'vue'
import { ApiError, post } from './api'
import { session } from './session'

// The daemon's close code for a feed whose login ended (callcore.core.sockets.SESSION_ENDED).
export const SESSION_ENDED = 4401

export interface Feed {
  connected: Ref<boolean>
  close(): void
}

export function openFeed(path: string, onMessage: (data: any) => void): Feed {
  const connected = ref(false)
  let ws: WebSocket | null = null
  let closed = false
  let delay = 500
  let timer: number | undefined

  async function connect(): Promise<void> {
    if (closed) return
    try {
      const { ticket } = await post<{ ticket: string }>('/console/socket-tickets', {})
      const url = new URL(`/api/v1/console/sockets/${path}`, window.location.origin)
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
      url.searchParams.set('ticket', ticket)
      ws = new WebSocket(url)
      ws.onopen = () => {
        connected.value = true
        delay = 500
      }
      ws.onmessage = (ev: MessageEvent) => {
        try {
          onMessage(JSON.parse(String(ev.data)))
        } catch {
          /* a frame that is not JSON is not ours */
        }
      }
      ws.onclose = (ev: CloseEvent) => {
        connected.value = false
        if (closed) return
        if (ev.code === SESSION_ENDED) {
          closed = true
          session.expire()
          return
        }
        retry()
      }
    } catch (e) {
      // A refused ticket is an ended login: api.ts has ended the session, the page goes to the login.
      if (e instanceof ApiError && e.status === 401) closed = true
      else retry()
    }
  }

  function retry(): void {
    if (closed) return
    timer = window.setTimeout(connect, delay)
    delay = Math.min(delay * 2, 10000)
  }

  void connect()
  return {
    connected,
    close() {
      closed = true
      if (timer !== undefined) window.clearTimeout(timer)
      ws?.close()
    },
  }
}

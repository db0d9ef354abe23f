// A live feed over a WebSocket the browser may open: ask for a one-time ticket with the bearer
// token (a browser WebSocket cannot send headers), open the socket with it, and reopen after a
// drop with a growing pause. Messages are JSON.
import { ref, type Ref } from 'vue'
import { post } from './api'

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
      ws.onclose = () => {
        connected.value = false
        retry()
      }
    } catch {
      retry()
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

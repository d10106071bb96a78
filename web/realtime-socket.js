// The WebSocket to /ws/realtime_charts: one message per snapshot, reconnecting by itself.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;

/**
 * Opens the socket and keeps it open. Each message is parsed and handed to `onSnapshot`;
 * state changes ("connecting", "live", "reconnecting") go to `onState`.
 * After a drop it retries with exponential backoff and full jitter, capped at 10 s.
 */
export class RealtimeSocket {
  constructor(url, { onSnapshot, onState }) {
    this.url = url;
    this.onSnapshot = onSnapshot;
    this.onState = onState;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.lastClose = null;
  }

  get isOpen() {
    return this.socket !== null;
  }

  connect() {
    if (this.socket) return;
    clearTimeout(this.retryTimer);
    this.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.onState("live");
    };
    socket.onmessage = (event) => this.handleMessage(event.data);
    socket.onclose = (event) => {
      this.socket = null;
      // 1013: the gateway is full; 1001: it is going away. Either way, come back later.
      this.lastClose = { code: event.code, reason: event.reason };
      this.scheduleRetry();
    };
  }

  /** Parses one message and hands the charts on; what is not a JSON array is dropped. */
  handleMessage(text) {
    let charts;
    try {
      charts = JSON.parse(text);
    } catch (error) {
      console.warn("rollcast: message is not JSON", error);
      return;
    }
    if (Array.isArray(charts)) this.onSnapshot(charts);
  }

  scheduleRetry() {
    const cap = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    const delay = MIN_DELAY_MS / 2 + Math.random() * (cap - MIN_DELAY_MS / 2);
    this.attempt += 1;
    this.onState("reconnecting");
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}

/** The socket URL on the same host and port as the page. */
export function realtimeURL(location) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/realtime_charts`;
}

// The WebSocket to /ws/realtime_charts: one message per snapshot, reconnecting by itself.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
// Until the first message says otherwise.
const DEFAULT_INTERVAL_MS = 2000;

// Offered on every connection; a token rides beside it as `bearer.<token>` (browsers cannot
// set Authorization on a WebSocket), and the gateway answers with this one.
const SUBPROTOCOL = "rollcast.v1";

/**
 * Opens the socket and keeps it open. Each message is parsed and handed to `onSnapshot`
 * with `fresh` (a snapshot not seen before) and the feed's interval;
 * state changes ("connecting", "live", "reconnecting") go to `onState`.
 * A connection refused before it opened is put to `checkAccess`, which answers whether the
 * gateway refuses this tab's token: then it stops ("unauthorised") instead of retrying.
 * After a drop it retries with exponential backoff and full jitter, capped at 10 s.
 * A socket that delivers nothing for 3 intervals is given up and a new one opened: a
 * connection can die without a close (a sleeping laptop, a dropped NAT entry).
 */
export class RealtimeSocket {
  constructor(url, { onSnapshot, onState, token = null, checkAccess = async () => null }) {
    this.url = url;
    this.onSnapshot = onSnapshot;
    this.onState = onState;
    this.token = token;
    this.checkAccess = checkAccess;
    this.refusal = null;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.watchdog = null;
    this.intervalMs = DEFAULT_INTERVAL_MS;
    this.lastKey = null;
    this.lastClose = null;
  }

  get isOpen() {
    return this.socket !== null;
  }

  connect() {
    if (this.socket) return;
    clearTimeout(this.retryTimer);
    this.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    this.refusal = null;
    const protocols = this.token ? [SUBPROTOCOL, `bearer.${this.token}`] : [SUBPROTOCOL];
    const socket = new WebSocket(this.url, protocols);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.onState("live");
      this.armWatchdog();
    };
    socket.onmessage = (event) => {
      this.armWatchdog();
      this.handleMessage(event.data);
    };
    socket.onclose = (event) => {
      this.dropSocket();
      // 1013: the gateway is full; 1001: it is going away. Either way, come back later.
      this.lastClose = { code: event.code, reason: event.reason };
      if (opened) this.scheduleRetry();
      else this.retryUnlessRefused();
    };
  }

  /** After a handshake that failed: stop if the gateway refuses the token, else retry as usual. */
  async retryUnlessRefused() {
    const refusal = await this.checkAccess(this.token);
    if (this.socket) return; // connected again meanwhile
    if (refusal) {
      this.refusal = refusal;
      this.onState("unauthorised");
      return;
    }
    this.scheduleRetry();
  }

  /** Uses another token from now on (a new link opened in this tab) and connects with it. */
  useToken(token) {
    this.token = token;
    this.attempt = 0;
    if (this.socket) {
      this.dropSocket();
    }
    this.connect();
  }

  armWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.giveUp(), 3 * this.intervalMs);
  }

  /** Closes a socket that went quiet and opens another, without waiting for a close handshake that may never come. */
  giveUp() {
    const socket = this.socket;
    if (!socket) return;
    this.dropSocket();
    socket.close(4000, "no data for 3 intervals");
    this.lastClose = { code: 4000, reason: "no data for 3 intervals" };
    this.scheduleRetry();
  }

  dropSocket() {
    clearTimeout(this.watchdog);
    if (this.socket) {
      this.socket.onopen = this.socket.onmessage = this.socket.onclose = null;
      this.socket = null;
    }
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
    if (!Array.isArray(charts)) return;
    const first = charts[0];
    if (Number.isFinite(first?.interval_ms) && first.interval_ms > 0) this.intervalMs = first.interval_ms;
    // Only a snapshot not seen before proves the feed works: a gateway whose producer is
    // down sends its cached one on every reconnect, and those reconnects keep backing off.
    const key = first ? `${first.run_id}/${first.seq}` : null;
    const fresh = key === null || key !== this.lastKey;
    if (fresh) {
      this.lastKey = key;
      this.attempt = 0;
    }
    this.onSnapshot(charts, { fresh, intervalMs: this.intervalMs });
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

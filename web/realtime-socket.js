// The WebSocket to /ws/realtime_charts: one message per snapshot, reconnecting by itself.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
// Until the first message says otherwise.
const DEFAULT_INTERVAL_MS = 2000;

import { DeltaGap, DeltaState } from "./delta-state.js";

// Offered on every connection, the delta stream first; a token rides beside them as
// `bearer.<token>` (browsers cannot set Authorization on a WebSocket). A gateway that answers
// rollcast.v1 (or nothing) sends the full stream: the page takes either.
const DELTA_SUBPROTOCOL = "rollcast.delta.v1";
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
  constructor(url, { onSnapshot, onState, token = null, checkAccess = async () => null, symbols = null }) {
    this.url = url;
    // The symbols and prefixes asked of the gateway (?symbols=); null for every symbol.
    this.symbols = symbols;
    // Bytes of the messages received, for the page's own counter.
    this.bytesReceived = 0;
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
    this.delta = new DeltaState();
    // Whether deltas are wanted: off for good once a gateway sends something unreadable on it.
    this.useDeltas = true;
  }

  /** "delta" or "full": the stream the open socket carries. */
  get stream() {
    return this.socket?.protocol === DELTA_SUBPROTOCOL ? "delta" : "full";
  }

  get isOpen() {
    return this.socket !== null;
  }

  connect() {
    if (this.socket) return;
    clearTimeout(this.retryTimer);
    this.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    this.refusal = null;
    const protocols = [...(this.useDeltas ? [DELTA_SUBPROTOCOL] : []), SUBPROTOCOL, ...(this.token ? [`bearer.${this.token}`] : [])];
    const url = this.symbols ? `${this.url}?symbols=${encodeURIComponent(this.symbols.join(","))}` : this.url;
    const socket = new WebSocket(url, protocols);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.onState("live");
      this.armWatchdog();
    };
    socket.onmessage = (event) => {
      this.armWatchdog();
      this.bytesReceived += event.data.length;
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

  /**
   * Asks the gateway for `symbols` only (null: every symbol). On the delta stream the open
   * socket changes its subscription (the next message is a full one of the new set); on the
   * full stream the socket is opened again with the new list.
   */
  setSymbols(symbols) {
    const next = symbols && symbols.length > 0 ? [...symbols].sort() : null;
    if (JSON.stringify(next) === JSON.stringify(this.symbols)) return;
    const previous = this.symbols;
    this.symbols = next;
    if (!this.socket) return;
    if (this.stream === "delta" && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ unsubscribe: previous ?? ["*"], subscribe: next ?? ["*"] }));
    } else {
      this.restart(1000, "symbols changed");
    }
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

  /**
   * Parses one message and hands the charts on: a JSON array on the full stream, a full or
   * delta object on the delta stream. What is neither is dropped; a delta that does not fit
   * what is held closes the socket, and the next one starts with a full message.
   */
  handleMessage(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (error) {
      console.warn("rollcast: message is not JSON", error);
      return;
    }
    let charts = message;
    let changed = null;
    if (!Array.isArray(message)) {
      if (typeof message?.kind !== "string") return;
      try {
        ({ charts, changed } = this.delta.apply(message));
      } catch (error) {
        if (!(error instanceof DeltaGap)) throw error;
        console.warn("rollcast: starting again from a full message:", error.message);
        this.restart(4001, "delta without its base");
        return;
      }
    }
    // Only a snapshot not seen before proves the feed works: a gateway whose producer is
    // down sends its cached one on every reconnect, and those reconnects keep backing off.
    // A gateway merging several producers holds one run and seq per producer.
    const sources = new Set();
    let interval = Infinity;
    for (const chart of charts) {
      sources.add(`${chart?.run_id}/${chart?.seq}`);
      if (Number.isFinite(chart?.interval_ms) && chart.interval_ms > 0 && chart.interval_ms < interval) interval = chart.interval_ms;
    }
    if (interval !== Infinity) this.intervalMs = interval;
    const key = sources.size > 0 ? [...sources].join(" ") : null;
    const fresh = key === null || key !== this.lastKey;
    if (fresh) {
      this.lastKey = key;
      this.attempt = 0;
    }
    this.onSnapshot(charts, { fresh, intervalMs: this.intervalMs, changed });
  }

  /** Closes the socket with `code` and opens another at once (it starts with a full message). */
  restart(code, reason) {
    const socket = this.socket;
    if (!socket) return;
    this.dropSocket();
    socket.close(code, reason);
    this.lastClose = { code, reason };
    this.connect();
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

// The stream of snapshots: a WebSocket to /ws/realtime_charts, or the same messages as
// Server-Sent Events from /sse/realtime_charts where WebSockets do not get through; one
// message per snapshot, reconnecting by itself.

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
// Some proxies strip WebSocket upgrades: after this many WebSockets in a row that never
// opened, the page asks for Server-Sent Events instead (and after as many failed event
// streams, tries WebSockets again, unless the address asked for SSE).
const FAILURES_BEFORE_SWITCH = 2;

/**
 * Opens the socket and keeps it open. Each message is parsed and handed to `onSnapshot`
 * with `fresh` (a snapshot not seen before) and the feed's interval;
 * state changes ("connecting", "live", "reconnecting") go to `onState`.
 * A connection refused before it opened is put to `checkAccess`, which answers whether the
 * gateway refuses this tab's token: then it stops ("unauthorised") instead of retrying.
 * After a drop it retries with exponential backoff and full jitter, capped at 10 s.
 * A socket that delivers nothing for 3 intervals is given up and a new one opened: a
 * connection can die without a close (a sleeping laptop, a dropped NAT entry).
 * `transport` is "websocket" (falling back to SSE when WebSockets do not open) or "sse" (only).
 */
export class RealtimeSocket {
  constructor(url, { onSnapshot, onState, token = null, checkAccess = async () => null, symbols = null, transport = "websocket", eventsURL = null }) {
    this.url = url;
    this.eventsURL = eventsURL ?? url.replace(/^ws/, "http").replace("/ws/", "/sse/");
    // "websocket" or "sse": what the next connection uses; SSE alone when the address asks.
    this.transport = transport;
    this.onlySSE = transport === "sse";
    // Connections in a row that failed before they opened, on the current transport.
    this.failedOpens = 0;
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
    if (this.socket instanceof EventSource) return this.socket.url.includes("stream=delta") ? "delta" : "full";
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
    if (this.transport === "sse") return this.connectEventSource();
    const protocols = [...(this.useDeltas ? [DELTA_SUBPROTOCOL] : []), SUBPROTOCOL, ...(this.token ? [`bearer.${this.token}`] : [])];
    const url = this.symbols ? `${this.url}?symbols=${encodeURIComponent(this.symbols.join(","))}` : this.url;
    const socket = new WebSocket(url, protocols);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.failedOpens = 0;
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

  /**
   * Opens the event stream: the same messages as the WebSocket (the delta stream unless a
   * gateway sent something unreadable on it), the symbols and the token in the query
   * (`EventSource` cannot set headers). The browser reconnects a stream that ended by itself,
   * sending the last event's id so that the gateway continues with a delta; a stream refused
   * or broken is closed here and retried with backoff, as a WebSocket is.
   */
  connectEventSource() {
    const query = new URLSearchParams();
    if (this.useDeltas) query.set("stream", "delta");
    if (this.symbols) query.set("symbols", this.symbols.join(","));
    if (this.token) query.set("access_token", this.token);
    const text = query.toString();
    const source = new EventSource(text ? `${this.eventsURL}?${text}` : this.eventsURL);
    this.socket = source;
    let opened = false;
    source.onopen = () => {
      opened = true;
      this.failedOpens = 0;
      this.onState("live");
      this.armWatchdog();
    };
    const onEvent = (event) => {
      if (this.socket !== source) return;
      this.armWatchdog();
      this.bytesReceived += event.data.length;
      this.handleMessage(event.data);
    };
    source.addEventListener("full", onEvent);
    source.addEventListener("delta", onEvent);
    source.onerror = () => {
      // An opened stream that ended (a gateway stopping): the browser reconnects by itself.
      if (opened && source.readyState === EventSource.CONNECTING) {
        this.onState("reconnecting");
        return;
      }
      this.dropSocket();
      source.close();
      this.lastClose = { code: 0, reason: "the event stream failed" };
      if (opened) this.scheduleRetry();
      else this.retryUnlessRefused();
    };
  }

  /** How the stream arrives, for the page to show: "WebSocket" or "SSE", and which stream. */
  get transportLabel() {
    if (!this.socket) return "";
    return `${this.socket instanceof EventSource ? "SSE" : "WebSocket"} · ${this.stream}`;
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
    this.failedOpens += 1;
    if (this.failedOpens >= FAILURES_BEFORE_SWITCH && !(this.onlySSE && this.transport === "sse")) {
      this.transport = this.transport === "sse" ? "websocket" : "sse";
      this.failedOpens = 0;
      console.info(`rollcast: trying ${this.transport === "sse" ? "Server-Sent Events" : "WebSockets"} now`);
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
    if (this.socket instanceof WebSocket && this.stream === "delta" && this.socket.readyState === WebSocket.OPEN) {
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
    closeConnection(socket, 4000, "no data for 3 intervals");
    this.lastClose = { code: 4000, reason: "no data for 3 intervals" };
    this.scheduleRetry();
  }

  dropSocket() {
    clearTimeout(this.watchdog);
    if (this.socket) {
      this.socket.onopen = this.socket.onmessage = this.socket.onclose = this.socket.onerror = null;
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
    closeConnection(socket, code, reason);
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

/** Closes a WebSocket with `code` and `reason`, or an event stream (which takes neither). */
function closeConnection(connection, code, reason) {
  if (connection instanceof WebSocket) connection.close(code, reason);
  else connection.close();
}

/** The socket URL on the same host and port as the page. */
export function realtimeURL(location) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/realtime_charts`;
}

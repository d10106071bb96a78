// Wires the page: the button opens the socket (a WebSocket, or Server-Sent Events where
// WebSockets do not get through or the address says #transport=sse), each snapshot updates
// the board, the filter and pause controls decide what is drawn. The filter also asks the gateway for the
// matching symbols only (?symbols=), so a narrowed board downloads only its charts; the
// address keeps it (#filter=…), so a copied link opens the same view.

import { ChartBoard } from "./chart-board.js";
import { RealtimeSocket, realtimeURL } from "./realtime-socket.js";
import { accessRefusal, takeToken } from "./access-token.js";

const board = new ChartBoard(document.getElementById("charts"));
const stateLabel = document.getElementById("connection-state");
const transportLabel = document.getElementById("transport");
const ageLabel = document.getElementById("data-age");
const emptyNote = document.getElementById("empty");
const filterInput = document.getElementById("filter");
const pauseButton = document.getElementById("pause");

const labels = {
  idle: "not connected",
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  stale: "stale",
  unauthorised: "not authorised",
};

// What the page knows, in one place.
const view = {
  connection: "idle",
  paused: false,
  // The newest snapshot received, drawn or not (pause holds it back).
  latest: null,
  // Messages received while paused, and the symbols they changed (null: all).
  held: 0,
  pendingChanges: new Set(),
  // Staleness is judged by this browser's own monotonic clock: when the last new snapshot
  // (a new run_id or seq) arrived. The producer's generated_at is another machine's clock.
  lastFresh: null,
  intervalMs: 2000,
  // Messages received in all, and how long the last one took to draw.
  messages: 0,
  lastApplyMs: 0,
  // Every symbol seen since the page opened: what a filter can name on the server.
  known: new Set(),
};

// Symbols and prefixes a filter asks the gateway for at most (the gateway takes 256).
const MAX_SUBSCRIBED = 200;
// A symbol as the gateway's rules allow it.
const SYMBOL = /^[A-Za-z0-9._:\/-]{1,32}$/;

/**
 * What the gateway is asked for under filter `text`: every known symbol the filter shows, and
 * the text itself as a prefix (as typed and in capitals) for symbols that come later. Null,
 * every symbol, without a filter, or when that would be too many to name.
 */
function subscriptionFor(text) {
  const filter = text.trim();
  if (!filter) return null;
  const wanted = new Set([...view.known].filter((symbol) => SYMBOL.test(symbol) && symbol.toLowerCase().includes(filter.toLowerCase())));
  for (const prefix of [filter, filter.toUpperCase()]) if (SYMBOL.test(prefix)) wanted.add(`${prefix}*`);
  return wanted.size > 0 && wanted.size <= MAX_SUBSCRIBED ? [...wanted] : null;
}

/** The filter as the address keeps it, beside anything else its fragment holds. */
function filterFromAddress() {
  return new URLSearchParams(window.location.hash.replace(/^#/, "")).get("filter") ?? "";
}

function keepFilterInAddress(text) {
  const hash = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  if (text.trim()) hash.set("filter", text.trim());
  else hash.delete("filter");
  const rest = hash.toString();
  history.replaceState(history.state, "", window.location.pathname + window.location.search + (rest ? `#${rest}` : ""));
}

function showState(state) {
  stateLabel.textContent = labels[state];
  stateLabel.className = `state state-${state}`;
  document.body.dataset.state = state;
  transportLabel.textContent = socket.transportLabel;
}

function refreshStatus() {
  const sinceFresh = view.lastFresh === null ? null : performance.now() - view.lastFresh;
  const stale = sinceFresh !== null && sinceFresh > 3 * view.intervalMs;
  const staleCharts = board.markStale(performance.now(), stale);
  showState(view.connection === "live" && stale ? "stale" : view.connection);
  const close = socket.lastClose;
  stateLabel.title = view.connection === "reconnecting" && close ? `closed ${close.code}${close.reason ? `: ${close.reason}` : ""}` : "";
  const newest = view.latest?.[0];
  if (newest && sinceFresh !== null) {
    const partly = !stale && staleCharts > 0 ? ` · ${staleCharts} of ${board.cards.size} charts stale` : "";
    ageLabel.textContent = `updated ${(sinceFresh / 1000).toFixed(1)} s ago · seq ${newest.seq}${partly}` + (view.paused ? ` · paused, ${view.held} held` : "");
  }
}

function refreshEmptyNote() {
  if (view.connection === "unauthorised") {
    const { reason } = socket.refusal;
    emptyNote.textContent = `The gateway refused this dashboard: ${reason}. Open it with a link that ends in #token=… (an operator makes one with: rollcast-gateway token --role read).`;
    emptyNote.hidden = false;
    return;
  }
  if (board.cards.size === 0) {
    emptyNote.textContent = view.latest ? "No symbols in the window yet." : "Press “Load Real-time Window” to see the live charts.";
  } else if (board.visibleCount === 0) {
    emptyNote.textContent = `No symbol matches “${filterInput.value.trim()}”.`;
  }
  emptyNote.hidden = board.visibleCount > 0;
}

function render(charts, changed = null) {
  const started = performance.now();
  board.apply(charts, changed);
  view.lastApplyMs = performance.now() - started;
  refreshEmptyNote();
  refreshStatus();
}

/** How the address asks for the stream: `#transport=sse` for Server-Sent Events only. */
function transportFromAddress() {
  return new URLSearchParams(window.location.hash.replace(/^#/, "")).get("transport") === "sse" ? "sse" : "websocket";
}

const socket = new RealtimeSocket(realtimeURL(window.location), {
  token: takeToken(),
  transport: transportFromAddress(),
  symbols: subscriptionFor(filterFromAddress()),
  checkAccess: accessRefusal,
  onState(state) {
    view.connection = state;
    refreshStatus();
    if (state === "unauthorised") refreshEmptyNote();
  },
  onSnapshot(charts, { fresh, intervalMs: interval, changed }) {
    // A reconnect's cached copy of a snapshot already shown is not news.
    if (fresh) view.lastFresh = performance.now();
    for (const chart of charts) if (typeof chart?.symbol === "string") view.known.add(chart.symbol);
    board.noteSources(charts, performance.now());
    view.intervalMs = interval;
    view.latest = charts;
    view.messages += 1;
    if (view.paused) {
      view.held += 1;
      if (changed === null) view.pendingChanges = null;
      else if (view.pendingChanges !== null) for (const symbol of changed) view.pendingChanges.add(symbol);
      refreshStatus();
    } else {
      render(charts, changed);
    }
  },
});

/** Opens /ws/realtime_charts; does nothing if it is already open. */
export function connectWebSocket() {
  socket.connect();
}

function setPaused(value) {
  if (value && !view.paused) board.freeze();
  view.paused = value;
  pauseButton.setAttribute("aria-pressed", String(value));
  pauseButton.textContent = value ? "Resume" : "Pause";
  // Resuming shows the newest state at once, not the next message.
  if (!value && view.held > 0 && view.latest) render(view.latest, view.pendingChanges);
  view.held = 0;
  view.pendingChanges = new Set();
  refreshStatus();
}

document.getElementById("load-realtime").addEventListener("click", connectWebSocket);
pauseButton.addEventListener("click", () => setPaused(!view.paused));
// The board narrows at once; the gateway is asked once typing pauses.
let subscribeTimer = null;
filterInput.value = filterFromAddress();
board.setFilter(filterInput.value);
filterInput.addEventListener("input", () => {
  board.setFilter(filterInput.value);
  refreshEmptyNote();
  keepFilterInAddress(filterInput.value);
  clearTimeout(subscribeTimer);
  subscribeTimer = setTimeout(() => socket.setSymbols(subscriptionFor(filterInput.value)), 300);
});
setInterval(refreshStatus, 1000);
// A link with a new token pasted into this tab's address bar takes effect at once.
window.addEventListener("hashchange", () => {
  if (!window.location.hash.includes("token=")) return;
  socket.useToken(takeToken());
});

// For tests and the console, written here alone: the charts by symbol, the socket, and what
// the page knows (read, never written, from outside).
window.rollcast = {
  board,
  socket,
  connectWebSocket,
  setPaused,
  get messages() { return view.messages; },
  get lastMessage() { return view.latest; },
  get lastApplyMs() { return view.lastApplyMs; },
  get bytesReceived() { return socket.bytesReceived; },
};

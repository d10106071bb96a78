// Wires the page: the button opens the socket, each snapshot updates the board, the
// filter and pause controls decide what is drawn.

import { ChartBoard } from "./chart-board.js";
import { RealtimeSocket, realtimeURL } from "./realtime-socket.js";
import { accessRefusal, takeToken } from "./access-token.js";

const board = new ChartBoard(document.getElementById("charts"));
const stateLabel = document.getElementById("connection-state");
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

let connection = "idle";
let paused = false;
// The newest snapshot received, drawn or not (pause holds it back).
let latest = null;
let held = 0;
// Staleness is judged by this browser's own monotonic clock: when the last new snapshot
// (a new run_id or seq) arrived. The producer's generated_at is another machine's clock.
let lastFresh = null;
let intervalMs = 2000;

function showState(state) {
  stateLabel.textContent = labels[state];
  stateLabel.className = `state state-${state}`;
  document.body.dataset.state = state;
}

function refreshStatus() {
  const sinceFresh = lastFresh === null ? null : performance.now() - lastFresh;
  const stale = sinceFresh !== null && sinceFresh > 3 * intervalMs;
  const staleCharts = board.markStale(performance.now(), stale);
  showState(connection === "live" && stale ? "stale" : connection);
  const close = socket.lastClose;
  stateLabel.title = connection === "reconnecting" && close ? `closed ${close.code}${close.reason ? `: ${close.reason}` : ""}` : "";
  const newest = latest?.[0];
  if (newest && sinceFresh !== null) {
    const partly = !stale && staleCharts > 0 ? ` · ${staleCharts} of ${board.cards.size} charts stale` : "";
    ageLabel.textContent = `updated ${(sinceFresh / 1000).toFixed(1)} s ago · seq ${newest.seq}${partly}` + (paused ? ` · paused, ${held} held` : "");
  }
}

function refreshEmptyNote() {
  if (connection === "unauthorised") {
    const { reason } = socket.refusal;
    emptyNote.textContent = `The gateway refused this dashboard: ${reason}. Open it with a link that ends in #token=… (an operator makes one with: rollcast-gateway token --role read).`;
    emptyNote.hidden = false;
    return;
  }
  if (board.cards.size === 0) {
    emptyNote.textContent = latest ? "No symbols in the window yet." : "Press “Load Real-time Window” to see the live charts.";
  } else if (board.visibleCount === 0) {
    emptyNote.textContent = `No symbol matches “${filterInput.value.trim()}”.`;
  }
  emptyNote.hidden = board.visibleCount > 0;
}

// Symbols changed since the last render (null: all), gathered while paused.
let pendingChanges = new Set();

function render(charts, changed = null) {
  const started = performance.now();
  board.apply(charts, changed);
  window.rollcast.lastApplyMs = performance.now() - started;
  refreshEmptyNote();
  refreshStatus();
}

const socket = new RealtimeSocket(realtimeURL(window.location), {
  token: takeToken(),
  checkAccess: accessRefusal,
  onState(state) {
    connection = state;
    refreshStatus();
    if (state === "unauthorised") refreshEmptyNote();
  },
  onSnapshot(charts, { fresh, intervalMs: interval, changed }) {
    // A reconnect's cached copy of a snapshot already shown is not news.
    if (fresh) lastFresh = performance.now();
    board.noteSources(charts, performance.now());
    intervalMs = interval;
    latest = charts;
    window.rollcast.messages += 1;
    window.rollcast.lastMessage = charts;
    if (paused) {
      held += 1;
      if (changed === null) pendingChanges = null;
      else if (pendingChanges !== null) for (const symbol of changed) pendingChanges.add(symbol);
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
  if (value && !paused) board.freeze();
  paused = value;
  pauseButton.setAttribute("aria-pressed", String(paused));
  pauseButton.textContent = paused ? "Resume" : "Pause";
  // Resuming shows the newest state at once, not the next message.
  if (!paused && held > 0 && latest) render(latest, pendingChanges);
  held = 0;
  pendingChanges = new Set();
  refreshStatus();
}

document.getElementById("load-realtime").addEventListener("click", connectWebSocket);
pauseButton.addEventListener("click", () => setPaused(!paused));
filterInput.addEventListener("input", () => {
  board.setFilter(filterInput.value);
  refreshEmptyNote();
});
setInterval(refreshStatus, 1000);
// A link with a new token pasted into this tab's address bar takes effect at once.
window.addEventListener("hashchange", () => {
  if (!window.location.hash.includes("token=")) return;
  socket.useToken(takeToken());
});

// For tests and the console: the charts by symbol and what the socket last delivered.
window.rollcast = { board, socket, connectWebSocket, setPaused, messages: 0, lastMessage: null, lastApplyMs: 0 };

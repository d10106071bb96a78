// Wires the page: the button opens the socket, each snapshot updates the board.

import { ChartBoard } from "./chart-board.js";
import { RealtimeSocket, realtimeURL } from "./realtime-socket.js";

const board = new ChartBoard(document.getElementById("charts"));
const stateLabel = document.getElementById("connection-state");
const ageLabel = document.getElementById("data-age");
const emptyNote = document.getElementById("empty");

let connection = "idle";
let lastSnapshot = null;

const labels = {
  idle: "not connected",
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  stale: "stale",
};

function showState(state) {
  stateLabel.textContent = labels[state];
  stateLabel.className = `state state-${state}`;
  document.body.dataset.state = state;
}

function setConnection(state) {
  connection = state;
  refreshStatus();
}

function refreshStatus() {
  const now = Date.now();
  const anyStale = board.markStale(now);
  showState(connection === "live" && anyStale ? "stale" : connection);
  const close = socket.lastClose;
  stateLabel.title = connection === "reconnecting" && close ? `closed ${close.code}${close.reason ? `: ${close.reason}` : ""}` : "";
  if (lastSnapshot) {
    const seconds = Math.max(0, (now - lastSnapshot.generated_at) / 1000);
    ageLabel.textContent = `data ${seconds.toFixed(1)} s old · seq ${lastSnapshot.seq}`;
  }
}

const socket = new RealtimeSocket(realtimeURL(window.location), {
  onState: setConnection,
  onSnapshot(charts) {
    board.apply(charts);
    lastSnapshot = charts[0] ?? lastSnapshot;
    emptyNote.hidden = board.cards.size > 0;
    window.rollcast.messages += 1;
    window.rollcast.lastMessage = charts;
    refreshStatus();
  },
});

/** Opens /ws/realtime_charts; does nothing if it is already open. */
export function connectWebSocket() {
  socket.connect();
}

document.getElementById("load-realtime").addEventListener("click", connectWebSocket);
setInterval(refreshStatus, 1000);

// For tests and the console: the charts by symbol and what the socket last delivered.
window.rollcast = { board, socket, connectWebSocket, messages: 0, lastMessage: null };

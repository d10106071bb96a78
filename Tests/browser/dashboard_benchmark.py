"""Dashboard update cost in headless Chromium: 50 symbols × 600 points.

Feeds the page's real message handler (JSON.parse, then one setData per chart) with
synthetic snapshots whose window moves by one interval per update, and prints:
- handler time per update (the synchronous part, as a message event would run it) and
  handler + drawing (uPlot draws in a microtask right after), over 100 updates;
- handler + drawing + rasterizing, over 100 more: a canvas records what is drawn and the
  browser turns it into pixels at the next frame, on the page's thread when the canvas is
  drawn in software; reading one pixel of every canvas makes that happen inside the timing;
- the JS heap (after a forced GC) after 10, 1,000 and more updates; and, as a baseline, the
  heap of the same delta run with the page's handler replaced by JSON.parse (what the
  measurement itself leaves behind).

Run after a debug build: `./run.sh bench-dashboard` or `python3 Tests/browser/dashboard_benchmark.py`.
"""

import json
import statistics
import sys

from dashboard_test import make_browser
from harness import Stack

SYMBOLS = 50
POINTS = 600

# What both scripts take: their arguments, and how to make the browser rasterize inside a timing.
PRELUDE = """
const [symbols, points, updates, record, raster, done] = [arguments[0], arguments[1], arguments[2], arguments[3], arguments[4] === true, arguments[arguments.length - 1]];
// Reading one pixel makes the browser rasterize what was drawn now, as it would at the next frame.
const rasterize = () => { for (const canvas of document.querySelectorAll("#charts canvas")) canvas.getContext("2d").getImageData(0, 0, 1, 1); };
"""

SCRIPT = PRELUDE + """
const start = Date.now() / 1000 - points;
let step = 0;
function message() {
  const charts = [];
  for (let s = 0; s < symbols; s++) {
    const t = new Array(points), price = new Array(points), volume = new Array(points);
    for (let i = 0; i < points; i++) {
      t[i] = Math.round((start + step + i) * 1000) / 1000;
      price[i] = Math.round((100 + s + 10 * Math.sin((step + i + s * 7) / 40)) * 100) / 100;
      volume[i] = 100 * ((i * 7 + s) % 50);
    }
    charts.push({ symbol: "SYM" + String(s).padStart(3, "0"), seq: step + 1, run_id: "bench", generated_at: Date.now(),
                  window_s: points, interval_ms: 1000, t, price, volume });
  }
  step += 1;
  return JSON.stringify(charts);
}
const socket = window.rollcast.socket;
const sync = [], total = [];
for (let i = 0; i < updates; i++) {
  const text = message();
  const t0 = performance.now();
  socket.handleMessage(text);
  const t1 = performance.now();
  await null;  // uPlot's queued redraws run before this continuation
  if (raster) rasterize();
  const t2 = performance.now();
  // Only a timed run keeps its timings: the runs that only move the page on would otherwise
  // leave thousands of them in the heap measured next.
  if (record) {
    sync.push(t1 - t0);
    total.push(t2 - t0);
  }
}
done({ sync, total, bytes: message().length, charts: document.querySelectorAll('#charts .uplot').length });
"""

# The delta stream: one full message, then per update one new point per chart and the
# oldest one dropped, as `rollcast.delta.v1` sends them (docs/protocol.md).
DELTA_SCRIPT = PRELUDE + """
const socket = window.rollcast.socket;
const state = window.__bench ?? (window.__bench = { step: 0, start: Date.now() / 1000 - points });
const point = (s, k) => ({
  t: Math.round((state.start + k) * 1000) / 1000,
  price: Math.round((100 + s + 10 * Math.sin((k + s * 7) / 40)) * 100) / 100,
  volume: 100 * ((k * 7 + s) % 50),
});
const symbol = (s) => "SYM" + String(s).padStart(3, "0");
if (state.step === 0) {
  const charts = [];
  for (let s = 0; s < symbols; s++) {
    const t = [], price = [], volume = [];
    for (let i = 0; i < points; i++) { const p = point(s, i); t.push(p.t); price.push(p.price); volume.push(p.volume); }
    charts.push({ symbol: symbol(s), seq: 1, run_id: "bench", generated_at: Date.now(), window_s: points, interval_ms: 1000, raw_points: points, t, price, volume });
  }
  socket.handleMessage(JSON.stringify({ kind: "full", seq: 1, run_id: "bench", generated_at: Date.now(), charts }));
  state.step = 1;
}
function message() {
  const charts = [];
  for (let s = 0; s < symbols; s++) {
    const p = point(s, points - 1 + state.step);
    charts.push({ symbol: symbol(s), raw_points: points, drop: 1, replace: 0, t: [p.t], price: [p.price], volume: [p.volume] });
  }
  state.step += 1;
  return JSON.stringify({ kind: "delta", seq: state.step, run_id: "bench", generated_at: Date.now(), base_seq: state.step - 1,
                          window_s: points, interval_ms: 1000, charts, added: [], removed: [] });
}
const sync = [], total = [];
let bytes = 0;
for (let i = 0; i < updates; i++) {
  const text = message();
  bytes = text.length;
  const t0 = performance.now();
  socket.handleMessage(text);
  const t1 = performance.now();
  await null;
  if (raster) rasterize();
  const t2 = performance.now();
  // Only a timed run keeps its timings: the runs that only move the page on would otherwise
  // leave thousands of them in the heap measured next.
  if (record) {
    sync.push(t1 - t0);
    total.push(t2 - t0);
  }
}
done({ sync, total, bytes, charts: document.querySelectorAll('#charts .uplot').length, applied: socket.delta.applied });
"""

HEAP_SCRIPT = """
const done = arguments[arguments.length - 1];
window.gc(); window.gc();
setTimeout(() => done(performance.memory.usedJSHeapSize), 100);
"""


def run_async(browser, body, *args):
    return browser.execute_async_script("(async () => {" + body + "})();", *args)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def open_page(stack, window_height):
    """A fresh browser on the dashboard at 1400 × `window_height`, with the heap readable after a forced GC."""
    browser = make_browser(extra_arguments=["--js-flags=--expose-gc", "--enable-precise-memory-info"])
    try:
        browser.set_window_size(1400, window_height)
        browser.set_script_timeout(600)
        browser.get(stack.url + "/")
    except Exception:
        browser.quit()
        raise
    return browser


def measure(stack, window_height, stream="full"):
    """One fresh page at 1400 × `window_height`, fed the full or the delta stream; returns the figures."""
    script = DELTA_SCRIPT if stream == "delta" else SCRIPT
    browser = open_page(stack, window_height)
    try:
        warm = run_async(browser, script, SYMBOLS, POINTS, 10, False, False)
        heap = {10: browser.execute_async_script(HEAP_SCRIPT)}
        timed = run_async(browser, script, SYMBOLS, POINTS, 100, True, False)
        run_async(browser, script, SYMBOLS, POINTS, 890, False, False)
        heap[1000] = browser.execute_async_script(HEAP_SCRIPT)
        counts = [1000]
        # The delta stream is cheap enough to run to 10,000 updates.
        for target in ((2000,) if stream == "full" else (2000, 5000, 10000)):
            run_async(browser, script, SYMBOLS, POINTS, target - counts[-1], False, False)
            heap[target] = browser.execute_async_script(HEAP_SCRIPT)
            counts.append(target)
        # Last, so that reading pixels back cannot change how the runs above were drawn.
        rastered = run_async(browser, script, SYMBOLS, POINTS, 100, True, True)
        return {
            "stream": stream,
            "window": f"1400x{window_height}",
            "symbols": SYMBOLS,
            "points": POINTS,
            "message_bytes": warm["bytes"],
            "charts_drawn": timed["charts"],
            "handler_ms_mean": round(statistics.mean(timed["sync"]), 2),
            "handler_ms_p95": round(percentile(timed["sync"], 95), 2),
            "handler_plus_draw_ms_mean": round(statistics.mean(timed["total"]), 2),
            "handler_plus_draw_ms_p95": round(percentile(timed["total"], 95), 2),
            "handler_draw_raster_ms_mean": round(statistics.mean(rastered["total"]), 2),
            "handler_draw_raster_ms_p95": round(percentile(rastered["total"], 95), 2),
            "heap_mb_after_updates": {n: round(heap[n] / 1e6, 3) for n in sorted(heap)},
        }
    finally:
        browser.quit()


def measure_harness_heap(stack):
    """The heap the measurement itself leaves: the delta run with the page's handler replaced by
    JSON.parse, at the same counts as the delta rows. Growth of the page beyond this is the page's."""
    browser = open_page(stack, 6000)
    try:
        browser.execute_script("window.rollcast.socket.handleMessage = (text) => { JSON.parse(text); };")
        heap = {}
        done = 0
        for target in (1000, 2000, 5000, 10000):
            run_async(browser, DELTA_SCRIPT, SYMBOLS, POINTS, target - done, False, False)
            heap[target] = browser.execute_async_script(HEAP_SCRIPT)
            done = target
        return {"stream": "delta, handler replaced by JSON.parse", "heap_mb_after_updates": {n: round(heap[n] / 1e6, 3) for n in sorted(heap)}}
    finally:
        browser.quit()


def main():
    stack = Stack()
    try:
        stack.start_gateway()
        # A screen's worth of charts, and a page tall enough that all 50 are drawn.
        for stream in ("full", "delta"):
            for height in (1000, 6000):
                print(json.dumps(measure(stack, height, stream)))
        print(json.dumps(measure_harness_heap(stack)))
        return 0
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())

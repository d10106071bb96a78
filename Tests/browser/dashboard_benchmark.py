"""Dashboard update cost in headless Chromium: 50 symbols × 600 points.

Feeds the page's real message handler (JSON.parse, then one setData per chart) with
synthetic snapshots whose window moves by one interval per update, and prints:
- handler time per update (the synchronous part, as a message event would run it) and
  handler + drawing (uPlot draws in a microtask right after), over 100 updates;
- the JS heap (after a forced GC) after 10 and after 1,000 updates.

Run after a debug build: `./run.sh bench-dashboard` or `python3 Tests/browser/dashboard_benchmark.py`.
"""

import json
import statistics
import sys

from dashboard_test import make_browser
from harness import Stack

SYMBOLS = 50
POINTS = 600

SCRIPT = """
const [symbols, points, updates, done] = [arguments[0], arguments[1], arguments[2], arguments[arguments.length - 1]];
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
  const t2 = performance.now();
  sync.push(t1 - t0);
  total.push(t2 - t0);
}
done({ sync, total, bytes: message().length, charts: document.querySelectorAll('#charts .uplot').length });
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


def measure(stack, window_height):
    """One fresh page at 1400 × `window_height`; returns the figures."""
    browser = make_browser(extra_arguments=["--js-flags=--expose-gc", "--enable-precise-memory-info"])
    try:
        browser.set_window_size(1400, window_height)
        browser.set_script_timeout(600)
        browser.get(stack.url + "/")
        warm = run_async(browser, SCRIPT, SYMBOLS, POINTS, 10)
        heap = {10: browser.execute_async_script(HEAP_SCRIPT)}
        timed = run_async(browser, SCRIPT, SYMBOLS, POINTS, 100)
        run_async(browser, SCRIPT, SYMBOLS, POINTS, 890)
        heap[1000] = browser.execute_async_script(HEAP_SCRIPT)
        run_async(browser, SCRIPT, SYMBOLS, POINTS, 1000)
        heap[2000] = browser.execute_async_script(HEAP_SCRIPT)
        return {
            "window": f"1400x{window_height}",
            "symbols": SYMBOLS,
            "points": POINTS,
            "message_bytes": warm["bytes"],
            "charts_drawn": timed["charts"],
            "handler_ms_mean": round(statistics.mean(timed["sync"]), 2),
            "handler_ms_p95": round(percentile(timed["sync"], 95), 2),
            "handler_plus_draw_ms_mean": round(statistics.mean(timed["total"]), 2),
            "handler_plus_draw_ms_p95": round(percentile(timed["total"], 95), 2),
            "heap_mb_after_10_1000_2000_updates": [round(heap[n] / 1e6, 2) for n in (10, 1000, 2000)],
        }
    finally:
        browser.quit()


def main():
    stack = Stack()
    try:
        stack.start_gateway()
        # A screen's worth of charts, and a page tall enough that all 50 are drawn.
        for height in (1000, 6000):
            print(json.dumps(measure(stack, height)))
        return 0
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())

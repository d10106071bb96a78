"""The dashboard in headless Chromium against the real producer and gateway.

Run by `./run.sh test`. Each step waits on a condition with a deadline; the whole run
is bounded by an alarm. A screenshot of the live dashboard is saved under .build/.
"""

import gzip
import http.server
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from harness import ROOT, ShardedStack, Stack, wait_for

SYMBOLS = ["ALPHA", "BRAVO", "CHARLIE"]
SCREENSHOT = ROOT / ".build" / "screenshots" / "dashboard.png"
RUN_LIMIT_S = 240


def make_browser(extra_arguments=()):
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000", *extra_arguments):
        options.add_argument(argument)
    options.binary_location = os.environ.get("ROLLCAST_CHROMIUM", "/usr/bin/chromium")
    service = Service(executable_path=os.environ.get("ROLLCAST_CHROMEDRIVER", "/usr/bin/chromedriver"))
    browser = webdriver.Chrome(options=options, service=service)
    browser.set_script_timeout(10)
    return browser


def chart_symbols(browser):
    return browser.execute_script("return [...document.querySelectorAll('#charts .chart')].map(e => e.dataset.symbol)")


def uplot_roots(browser):
    return len(browser.find_elements(By.CSS_SELECTOR, "#charts .chart .uplot"))


def chart_state(browser, symbol):
    """The last x value and point count uPlot holds for `symbol`, and the header's last price."""
    return browser.execute_script(
        """
        const card = window.rollcast.board.cards.get(arguments[0]);
        if (!card || !card.plot) return null;
        const xs = card.plot.data[0];
        return { lastT: xs[xs.length - 1], points: xs.length, header: card.last.textContent };
        """,
        symbol,
    )


def last_message_price(browser, symbol):
    return browser.execute_script(
        "const c = (window.rollcast.lastMessage || []).find(c => c.symbol === arguments[0]);"
        "return c ? c.price[c.price.length - 1] : null;",
        symbol,
    )


def visible_symbols(browser):
    return browser.execute_script("return [...document.querySelectorAll('#charts .chart:not([hidden])')].map(e => e.dataset.symbol)")


def headers_match(browser, symbol):
    state = chart_state(browser, symbol)
    price = last_message_price(browser, symbol)
    return state is not None and price is not None and abs(header_number(state["header"]) - price) < 1e-9


def header_number(text):
    return float(text.replace(",", "").replace("\u202f", "").replace("\u00a0", ""))


def compare_with_full_stream(browser):
    """Records, after each message, the charts the dashboard holds and those a plain
    full-stream socket opened beside it receives, keyed by every chart's run and seq (with
    several producers no single seq names a message); the socket reopens when it closes."""
    browser.execute_script(
        """
        const key = (charts) => [...charts].sort((a, b) => (a.symbol < b.symbol ? -1 : 1)).map(c => `${c.symbol}@${c.run_id}/${c.seq}`).join(" ");
        const digest = (charts) => charts.map(c => `${c.symbol}:${c.raw_points}:${c.t.join(",")}|${c.price.join(",")}|${c.volume.join(",")}`).sort().join("\\n");
        window.compare = { dashboard: new Map(), full: new Map() };
        const socket = window.rollcast.socket;
        const original = socket.onSnapshot;
        socket.onSnapshot = (charts, info) => {
          if (charts.length) window.compare.dashboard.set(key(charts), digest(charts));
          original(charts, info);
        };
        window.compare.open = () => {
          const plain = new WebSocket(`ws://${location.host}/ws/realtime_charts`);
          plain.onmessage = (event) => {
            const charts = JSON.parse(event.data);
            if (charts.length) window.compare.full.set(key(charts), digest(charts));
          };
          plain.onclose = () => setTimeout(window.compare.open, 300);
        };
        window.compare.open();
        """
    )


def compared(browser):
    """How many messages the dashboard and the full-stream socket both saw had the same
    charts, and the keys of those that differed."""
    return browser.execute_script(
        """
        let same = 0, differ = [];
        for (const [key, value] of window.compare.full) {
          const mine = window.compare.dashboard.get(key);
          if (mine === undefined) continue;
          if (mine === value) same += 1; else differ.push(key);
        }
        return { same, differ };
        """
    )


class DashboardTests:
    def __init__(self):
        self.stack = Stack(producer_args=["--window", "60", "--mock-symbols", ",".join(SYMBOLS), "--mock-rate", "4"])
        self.browser = None

    def setup(self):
        self.stack.start_producer()
        self.stack.start_gateway()
        self.stack.wait_ready()
        self.browser = make_browser()
        self.browser.get(self.stack.url + "/")

    def teardown(self):
        if self.browser:
            self.browser.quit()
        self.stack.close()

    def test_button_opens_one_chart_per_symbol(self):
        b = self.browser
        assert b.find_element(By.ID, "connection-state").text == "not connected"
        b.find_element(By.ID, "load-realtime").click()
        wait_for(lambda: chart_symbols(b) == SYMBOLS, 10, f"charts for {SYMBOLS}")
        # uPlot instances are made when a card is first seen on screen (IntersectionObserver).
        wait_for(lambda: uplot_roots(b) == len(SYMBOLS), 5, f"{len(SYMBOLS)} uPlot roots")
        wait_for(lambda: b.find_element(By.ID, "connection-state").text == "live", 5, "state 'live'")
        extensions = b.execute_script("return window.rollcast.socket.socket.extensions")
        assert "permessage-deflate" in extensions, f"Chromium did not negotiate permessage-deflate: {extensions!r}"

    def test_charts_move_and_headers_match_the_latest_message(self):
        b = self.browser
        before = {s: chart_state(b, s) for s in SYMBOLS}
        # Three intervals of 0.5 s; every chart must get newer data.
        wait_for(
            lambda: all(chart_state(b, s)["lastT"] > before[s]["lastT"] for s in SYMBOLS),
            5, "every chart to receive newer points",
        )
        for symbol in SYMBOLS:
            wait_for(lambda: headers_match(b, symbol), 3, f"{symbol}'s header to show the last price of the latest message")

    def test_an_undrawable_chart_leaves_the_others_updating(self):
        b = self.browser
        b.execute_script("window.__errors = []; window.addEventListener('error', e => window.__errors.push(String(e.message)));")
        # The real message with one more chart first in line whose t is in microseconds: a
        # time no Date can hold, which used to throw in the header and stop every chart after it.
        b.execute_script(
            """
            const real = window.rollcast.lastMessage;
            const bad = { ...real[0], symbol: "AAA-BAD", t: real[0].t.map(x => x * 1e6) };
            const ragged = { ...real[0], symbol: "AAB-RAGGED", price: real[0].price.slice(1) };
            window.rollcast.socket.handleMessage(JSON.stringify([bad, ragged, ...real]));
            """
        )
        for symbol, reason in (("AAA-BAD", "is not a time in Unix seconds"), ("AAB-RAGGED", "t has")):
            note = b.execute_script("return window.rollcast.board.cards.get(arguments[0])?.invalidNote.textContent", symbol)
            assert note and note.startswith("invalid data:") and reason in note, f"{symbol} shows {note!r}"
        for symbol in SYMBOLS:
            assert headers_match(b, symbol), f"{symbol} was not updated after the bad charts"
        before = {s: chart_state(b, s) for s in SYMBOLS}
        wait_for(lambda: all(chart_state(b, s)["lastT"] > before[s]["lastT"] for s in SYMBOLS), 5, "every chart to move on")
        wait_for(lambda: chart_symbols(b) == SYMBOLS, 5, "the bad charts gone with the next real message")
        assert b.execute_script("return window.__errors") == [], "uncaught errors in the page"

    def test_the_price_line_passes_through_the_points_shown_as_it_is_extended_and_rebuilt(self):
        # web/line-path.js keeps the line and extends it: after each kind of change the line must
        # pass through every point the chart holds, and not through points it no longer holds.
        result = self.browser.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            (async () => {
              const { appendingLine } = await import("/line-path.js");
              const holder = document.createElement("div");
              document.body.appendChild(holder);
              const build = appendingLine();
              let t = [], p = [];
              const point = (k) => [1796170000 + k, 100 + 10 * Math.sin(k / 7)];
              for (let k = 0; k < 100; k++) { const [x, y] = point(k); t.push(x); p.push(y); }
              const u = new uPlot({ width: 500, height: 240, scales: { x: { time: true } }, series: [{}, { stroke: "red", width: 1, paths: build }] }, [t, p], holder);
              const probe = document.createElement("canvas").getContext("2d");
              probe.lineWidth = 2;
              probe.lineCap = "round";  // so that a line's ends count as on it
              const on = (path, x, y) => probe.isPointInStroke(path, u.valToPos(x, "x", true), u.valToPos(y, "y", true));
              const report = [];
              const check = async (step, gone = []) => {
                u.setData([t, p]);
                await null;  // uPlot sets its scales and redraws (calling the builder) in a microtask
                const path = build(u, 1, 0, t.length - 1).stroke;
                const held = build.held();
                const missingAt = t.map((x, i) => i).filter((i) => p[i] !== null && !on(path, t[i], p[i]));
                const missing = missingAt.length;
                const kept = gone.filter(([x, y]) => on(path, x, y)).length;
                report.push({ step, builtFrom: held.builtFrom, heldMatches: JSON.stringify(held.t) === JSON.stringify(t), missing, kept, missingAt: missingAt.map((i) => [i, u.valToPos(t[i], "x", true), u.valToPos(p[i], "y", true)]), bbox: u.bbox });
              };
              await check("first");
              // A delta: five points dropped from the front, five appended, in place.
              t.splice(0, 5); p.splice(0, 5);
              for (let k = 100; k < 105; k++) { const [x, y] = point(k); t.push(x); p.push(y); }
              await check("appended");
              // A replaced tail: the last three points move far from where they were.
              const old = t.slice(-3).map((x, i) => [x, p[p.length - 3 + i]]);
              for (let i = p.length - 3; i < p.length; i++) p[i] = p[i] > 100 ? 85 : 115;
              await check("replaced", old);
              // A gap: the line lifts at a null and goes on after it.
              p[50] = null;
              await check("gap", [[(t[49] + t[51]) / 2, (p[49] + p[51]) / 2]]);
              // Two hundred more deltas, past the spare room: the line is rebuilt without the dropped points.
              for (let k = 105; k < 305; k++) { t.shift(); p.shift(); const [x, y] = point(k); t.push(x); p.push(y); u.setData([t, p]); await null; }
              await check("compacted");
              // The same points in new arrays (a paused board's copy): nothing to rebuild.
              const before = build.held().builtFrom;
              t = t.slice();
              p = p.slice();
              await check("copied");
              report.push({ step: "copied kept its line", same: build.held().builtFrom === before });
              u.destroy();
              holder.remove();
              done(report);
            })().catch((error) => done({ error: String(error) }));
            """
        )
        assert isinstance(result, list), f"the line check failed in the page: {result}"
        steps = {row["step"]: row for row in result}
        for step in ("first", "appended", "replaced", "gap", "compacted", "copied"):
            row = steps[step]
            assert row["heldMatches"], f"{step}: the line does not hold the chart's points"
            assert row["missing"] == 0, f"{step}: the line misses {row['missing']} of the points shown: {row}"
            assert row["kept"] == 0, f"{step}: the line still passes through points no longer shown"
        assert steps["appended"]["builtFrom"] == steps["first"]["builtFrom"], "appending rebuilt the line"
        assert steps["replaced"]["builtFrom"] != steps["first"]["builtFrom"], "a replaced tail did not rebuild the line"
        assert steps["copied kept its line"]["same"], "the same points in new arrays rebuilt the line"

    def test_new_symbols_get_charts_without_recreating_others(self):
        b = self.browser
        b.execute_script("for (const c of window.rollcast.board.cards.values()) { c.element.dataset.mark = 'kept'; c.plot.__mark = 'kept'; }")
        status, body = self.stack.request("POST", "/api/test/load_mock_data", {"symbols": ["DELTA", "ECHO"], "points": 50, "seed": 7})
        assert status == 200, f"load_mock_data answered {status}: {body!r}"
        expected = sorted(SYMBOLS + ["DELTA", "ECHO"])
        wait_for(lambda: chart_symbols(b) == expected, 5, f"charts for {expected}, in order")
        kept = b.execute_script(
            "return [...window.rollcast.board.cards.values()].filter(c => c.element.dataset.mark === 'kept' && c.plot.__mark === 'kept').map(c => c.symbol)"
        )
        assert sorted(kept) == SYMBOLS, f"existing charts were re-created: kept {kept}"
        wait_for(lambda: uplot_roots(b) == len(expected), 5, f"{len(expected)} uPlot roots")

    def test_filter_shows_only_matching_symbols(self):
        b = self.browser
        box = b.find_element(By.ID, "filter")
        box.send_keys("ha")  # ALPHA and CHARLIE, case-insensitive
        wait_for(lambda: visible_symbols(b) == ["ALPHA", "CHARLIE"], 3, "only ALPHA and CHARLIE visible")
        box.send_keys("zzz")
        wait_for(lambda: visible_symbols(b) == [] and b.find_element(By.ID, "empty").is_displayed(), 3, "the no-match note")
        box.clear()
        box.send_keys(" ")  # clear() fires no input event; a blank filter shows everything
        wait_for(lambda: visible_symbols(b) == chart_symbols(b), 3, "every chart visible again")
        # A chart hidden while data moved on shows the newest data when it comes back.
        wait_for(lambda: all(headers_match(b, s) for s in chart_symbols(b)), 3, "headers up to date after unfiltering")

    def test_the_filter_asks_the_gateway_for_its_symbols_only(self):
        b = self.browser

        def bytes_per_message(count=4):
            bytes_before, messages_before = b.execute_script("return [window.rollcast.bytesReceived, window.rollcast.messages]")
            wait_for(lambda: b.execute_script("return window.rollcast.messages") >= messages_before + count, 10, f"{count} messages")
            bytes_after, messages_after = b.execute_script("return [window.rollcast.bytesReceived, window.rollcast.messages]")
            return (bytes_after - bytes_before) / (messages_after - messages_before)

        def held_symbols():
            return b.execute_script("return (window.rollcast.lastMessage || []).map(c => c.symbol).sort()")

        everything = held_symbols()
        unfiltered = bytes_per_message()
        box = b.find_element(By.ID, "filter")
        box.send_keys("bra")
        # Known symbols the filter shows, and the text as a prefix (as typed and in capitals) for later ones.
        wait_for(lambda: b.execute_script("return window.rollcast.socket.symbols") == ["BRA*", "BRAVO", "bra*"], 5, "the subscription")
        wait_for(lambda: held_symbols() == ["BRAVO"], 5, "messages holding BRAVO alone")
        assert "filter=bra" in b.execute_script("return location.hash"), "the address does not keep the filter"
        filtered = bytes_per_message()
        print(f"    bytes a message: {unfiltered:.0f} for every symbol, {filtered:.0f} filtered to one")
        assert filtered < unfiltered * 0.6, f"{filtered:.0f} bytes a message filtered, {unfiltered:.0f} unfiltered"
        # A link with the filter opens the same view, asking the gateway for it from the start.
        b.get("about:blank")
        b.get(self.stack.url + "/#filter=bra")
        b.find_element(By.ID, "load-realtime").click()
        wait_for(lambda: held_symbols() == ["BRAVO"], 10, "BRAVO alone after opening the link")
        assert b.find_element(By.ID, "filter").get_attribute("value") == "bra"
        box = b.find_element(By.ID, "filter")
        box.clear()
        box.send_keys(" ")
        wait_for(lambda: b.execute_script("return window.rollcast.socket.symbols") is None, 5, "every symbol again")
        wait_for(lambda: held_symbols() == everything, 5, "every symbol's chart again")
        assert "filter=" not in b.execute_script("return location.hash")
        wait_for(lambda: visible_symbols(b) == everything, 5, "every chart visible again")
        # The tests after this one take the page as the first one left it: opened afresh, connected.
        b.get("about:blank")
        b.get(self.stack.url + "/")
        b.find_element(By.ID, "load-realtime").click()
        wait_for(lambda: chart_symbols(b) == everything and uplot_roots(b) == len(everything), 10, "the board again")

    def test_pause_holds_updates_and_resume_shows_the_newest(self):
        b = self.browser
        pause = b.find_element(By.ID, "pause")
        pause.click()
        assert pause.get_attribute("aria-pressed") == "true"
        drawn = chart_state(b, "ALPHA")["lastT"]
        seen = b.execute_script("return window.rollcast.messages")
        wait_for(lambda: b.execute_script("return window.rollcast.messages") >= seen + 2, 5, "two messages while paused")
        assert chart_state(b, "ALPHA")["lastT"] == drawn, "a paused chart was redrawn"
        assert b.execute_script("return window.rollcast.socket.isOpen"), "pausing closed the socket"
        pause.click()
        newest = b.execute_script("const c = window.rollcast.lastMessage.find(c => c.symbol === 'ALPHA'); return c.t[c.t.length - 1]")
        assert chart_state(b, "ALPHA")["lastT"] >= newest, "resume did not show the newest state at once"
        assert pause.get_attribute("aria-pressed") == "false"

    def test_screenshot_of_the_live_dashboard(self):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert self.browser.save_screenshot(str(SCREENSHOT)), "screenshot failed"
        print(f"    screenshot: {SCREENSHOT}")

    def test_stale_data_is_marked_and_cleared(self):
        b = self.browser
        Stack.stop(self.stack.producer)
        # 3 intervals of 0.5 s without data, plus the page's 1 s refresh.
        wait_for(lambda: b.find_element(By.ID, "connection-state").text == "stale", 5, "state 'stale'")
        stale = b.execute_script("return document.querySelectorAll('#charts .chart.stale').length")
        assert stale == len(chart_symbols(b)), f"{stale} of {len(chart_symbols(b))} charts marked stale"
        self.stack.start_producer()
        wait_for(lambda: b.find_element(By.ID, "connection-state").text == "live", 10, "state 'live' again")
        wait_for(lambda: b.execute_script("return document.querySelectorAll('#charts .chart.stale').length") == 0, 5, "stale marks cleared")

    def test_a_browser_clock_30_s_ahead_does_not_show_stale(self):
        ahead = make_browser()
        try:
            # Every Date in the page is 30 s ahead of the machine's clock.
            ahead.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
                (() => {
                  const Real = Date, skew = 30000;
                  class Ahead extends Real {
                    constructor(...args) { if (args.length === 0) super(Real.now() + skew); else super(...args); }
                    static now() { return Real.now() + skew; }
                  }
                  window.Date = Ahead;
                })();"""})
            ahead.get(self.stack.url + "/")
            assert ahead.execute_script("return Date.now() - performance.timeOrigin - performance.now()") > 29000, "the clock was not moved"
            ahead.find_element(By.ID, "load-realtime").click()
            wait_for(lambda: ahead.find_element(By.ID, "connection-state").text == "live", 10, "state 'live'")
            # Eight intervals of 0.5 s: long past the 3 intervals after which data would count as stale.
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                state = ahead.find_element(By.ID, "connection-state").text
                marked = ahead.execute_script("return document.querySelectorAll('#charts .chart.stale').length")
                assert state == "live" and marked == 0, f"state {state!r}, {marked} charts marked stale"
                time.sleep(0.25)
        finally:
            ahead.quit()

    def test_a_silent_connection_is_closed_and_replaced(self):
        b = self.browser
        gateway = self.stack.gateway
        # A stopped gateway keeps the TCP connection open and sends nothing, like a dead link.
        os.kill(gateway.pid, signal.SIGSTOP)
        try:
            wait_for(lambda: (b.execute_script("return window.rollcast.socket.lastClose") or {}).get("code") == 4000, 5,
                     "the page to give up the silent socket (close code 4000) after 3 intervals")
        finally:
            os.kill(gateway.pid, signal.SIGCONT)
        messages = b.execute_script("return window.rollcast.messages")
        wait_for(lambda: b.execute_script("return window.rollcast.messages") > messages + 1, 15, "updates on a new connection")
        wait_for(lambda: b.find_element(By.ID, "connection-state").text == "live", 5, "state 'live'")

    def test_a_page_on_another_site_can_neither_read_nor_write(self):
        # Another origin: the same machine, another port.
        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"<!doctype html><title>elsewhere</title><p>another site</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        other = make_browser()
        try:
            other.get(f"http://127.0.0.1:{server.server_address[1]}/")
            outcome = other.execute_async_script(
                """
                const [gateway, done] = [arguments[0], arguments[arguments.length - 1]];
                const tick = JSON.stringify({ ticks: [{ symbol: "EVIL", t: Date.now() / 1000, price: 666 }] });
                const result = {};
                // A "simple" request needs no preflight: the browser sends it, the gateway must refuse it.
                try { await fetch(gateway + "/api/ingest", { method: "POST", mode: "no-cors", body: tick, headers: { "Content-Type": "text/plain" } }); result.simple = "sent"; }
                catch (e) { result.simple = "blocked"; }
                try { await fetch(gateway + "/api/ingest", { method: "POST", body: tick, headers: { "Content-Type": "application/json" } }); result.json = "read"; }
                catch (e) { result.json = "blocked"; }
                try { const r = await fetch(gateway + "/api/status"); result.read = await r.text(); }
                catch (e) { result.read = "blocked"; }
                result.socket = await new Promise((resolve) => {
                  const socket = new WebSocket(gateway.replace("http", "ws") + "/ws/realtime_charts");
                  socket.onopen = () => resolve("open");
                  socket.onmessage = () => resolve("message");
                  socket.onerror = () => resolve("refused");
                  setTimeout(() => resolve("timeout"), 5000);
                });
                done(result);
                """,
                self.stack.url,
            )
        finally:
            other.quit()
            server.shutdown()
        assert outcome["json"] == "blocked", f"a cross-site JSON post was answered: {outcome}"
        assert outcome["read"] == "blocked", f"a cross-site page read the status: {outcome}"
        assert outcome["socket"] == "refused", f"a cross-site page opened the WebSocket: {outcome}"
        # Nothing in this run ingests over HTTP but that page: the producer must have applied nothing.
        status, body = self.stack.request("GET", "/api/status")
        applied = json.loads(body)["producer"]["ingest"]["http"]["batches"]
        assert applied == 0, f"a cross-site post reached the windows ({outcome})"

    def test_the_delta_stream_draws_what_the_full_stream_holds_through_a_gateway_restart(self):
        b = self.browser
        assert b.execute_script("return window.rollcast.socket.stream") == "delta", "the dashboard is not on the delta stream"
        compare_with_full_stream(b)

        def matching():
            return compared(b)

        wait_for(lambda: matching()["same"] >= 30, 30, "30 snapshots compared")
        result = matching()
        assert not result["differ"], f"the delta stream's charts differ from the full stream's at {result['differ']}"
        deltas = b.execute_script("return window.rollcast.socket.delta.applied")
        assert deltas >= 25, f"only {deltas} deltas applied: the dashboard took full messages instead"
        # Through a gateway restart: the dashboard starts again from a full message and keeps matching.
        port = self.stack.port
        Stack.stop(self.stack.gateway)
        self.stack.start_gateway(port=port)
        before = result["same"]
        wait_for(lambda: matching()["same"] >= before + 10, 30, "10 more snapshots compared after the restart")
        result = matching()
        assert not result["differ"], f"after the restart the charts differ at {result['differ']}"
        assert b.execute_script("return window.rollcast.socket.stream") == "delta"

    def test_where_websockets_do_not_open_the_page_falls_back_to_sse_and_draws_what_the_full_stream_holds(self):
        # A proxy that strips upgrades, as the page meets it: its WebSockets close before they
        # open. Only the page's own (they offer subprotocols); the comparison's plain one passes.
        browser = make_browser()
        try:
            browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
                const RealWebSocket = window.WebSocket;
                window.blockedWebSockets = 0;
                window.WebSocket = class extends RealWebSocket {
                  constructor(url, protocols) {
                    super(protocols ? url.replace("/ws/realtime_charts", "/ws/blocked") : url, protocols);
                    if (protocols) window.blockedWebSockets += 1;
                  }
                };
            """})
            browser.get(self.stack.url + "/")
            browser.find_element(By.ID, "load-realtime").click()
            transport = lambda: browser.find_element(By.ID, "transport").text
            wait_for(lambda: transport() == "SSE · delta", 15, "the page on Server-Sent Events")
            assert browser.execute_script("return window.blockedWebSockets") == 2, "it switched after two failed WebSockets"
            assert browser.find_element(By.ID, "connection-state").text == "live"
            compare_with_full_stream(browser)
            wait_for(lambda: compared(browser)["same"] >= 30, 40, "30 snapshots compared")
            result = compared(browser)
            assert not result["differ"], f"the SSE page's charts differ from the full stream's at {result['differ']}"
            assert sorted(chart_symbols(browser)) == SYMBOLS
            deltas = browser.execute_script("return window.rollcast.socket.delta.applied")
            assert deltas >= 25, f"only {deltas} deltas applied over SSE"
            # Asked for in the address, SSE is used from the start (a new page: a changed hash alone loads none).
            browser.get("about:blank")
            browser.get(self.stack.url + "/#transport=sse")
            browser.find_element(By.ID, "load-realtime").click()
            wait_for(lambda: transport() == "SSE · delta", 10, "SSE from the start")
            assert browser.execute_script("return window.blockedWebSockets") == 0
        finally:
            browser.quit()
        # The WebSocket page beside it says so (the button does nothing on a page already connected).
        self.browser.find_element(By.ID, "load-realtime").click()
        wait_for(lambda: self.browser.find_element(By.ID, "transport").text == "WebSocket · delta", 5, "the WebSocket page's transport")

    def test_two_producers_through_a_broker_one_dead_its_charts_alone_stale_broker_restart_recovers(self):
        fleet = ShardedStack(interval=0.5)
        browser = None
        try:
            fleet.start_broker()
            fleet.start_producer("east", ["E-1", "E-2"])
            fleet.start_producer("west", ["W-1", "W-2"])
            fleet.start_gateway(control="east")
            browser = make_browser()
            browser.get(fleet.url + "/")
            browser.find_element(By.ID, "load-realtime").click()
            wait_for(lambda: chart_symbols(browser) == ["E-1", "E-2", "W-1", "W-2"], 20, "the charts of both producers")
            assert browser.execute_script("return window.rollcast.socket.stream") == "delta"
            compare_with_full_stream(browser)

            def matching():
                return compared(browser)

            wait_for(lambda: matching()["same"] >= 12, 30, "12 merged messages compared")
            result = matching()
            assert not result["differ"], f"the delta stream's charts differ from the full stream's at {result['differ'][:3]}"
            deltas = browser.execute_script("return window.rollcast.socket.delta.applied")
            assert deltas >= 8, f"only {deltas} deltas applied: the merged stream fell back to full messages"

            def stale_symbols():
                return browser.execute_script("return [...document.querySelectorAll('#charts .chart.stale')].map(e => e.dataset.symbol)")

            fleet.kill("west")
            # 3 intervals of 0.5 s, plus the page's 1 s refresh.
            wait_for(lambda: stale_symbols() == ["W-1", "W-2"], 5, "west's charts, and only those, marked stale")
            assert browser.find_element(By.ID, "connection-state").text == "live"
            assert "2 of 4 charts stale" in browser.find_element(By.ID, "data-age").text
            # East keeps moving meanwhile.
            before = browser.execute_script("return window.rollcast.messages")
            wait_for(lambda: browser.execute_script("return window.rollcast.messages") >= before + 3, 5, "east's snapshots to keep coming")
            assert stale_symbols() == ["W-1", "W-2"]
            fleet.start_producer("west", ["W-1", "W-2"])
            wait_for(lambda: stale_symbols() == [], 15, "west's charts live again")
            # The broker restarted under everything: every chart stale, then live again by itself.
            fleet.stop("broker")
            wait_for(lambda: browser.find_element(By.ID, "connection-state").text == "stale", 6, "state 'stale' while the broker is down")
            assert len(stale_symbols()) == 4
            fleet.start_broker()
            wait_for(lambda: browser.find_element(By.ID, "connection-state").text == "live" and stale_symbols() == [], 15, "live again after the broker's restart")
        finally:
            if browser:
                browser.quit()
            fleet.close()

    def test_a_secured_gateway_takes_the_token_from_the_link_and_refuses_without(self):
        secured = Stack(producer_args=["--mock-symbols", "DELTA"])
        token = secured.secure("read")
        browser = None
        try:
            secured.start_producer()
            secured.start_gateway()
            secured.wait_ready()
            browser = make_browser()
            state = lambda: browser.find_element(By.ID, "connection-state").text
            # With the token in the link: live, and the token gone from the address bar.
            browser.get(f"{secured.url}/#token={token}")
            browser.find_element(By.ID, "load-realtime").click()
            wait_for(lambda: chart_symbols(browser) == ["DELTA"], 10, "the secured gateway's chart")
            assert state() == "live", state()
            assert "token" not in browser.current_url, f"the token stayed in the address bar: {browser.current_url}"
            # Kept for the tab: a reload connects again without the link.
            browser.refresh()
            browser.find_element(By.ID, "load-realtime").click()
            wait_for(lambda: state() == "live", 10, "live again after a reload")
            # Without a token: a clear refusal, and no endless reconnecting.
            browser.execute_script("window.sessionStorage.clear()")
            browser.refresh()
            browser.find_element(By.ID, "load-realtime").click()
            wait_for(lambda: state() == "not authorised", 10, "state 'not authorised'")
            note = browser.find_element(By.ID, "empty").text
            assert "needs a token" in note and "#token=" in note, f"the refusal does not say what to do: {note!r}"
            time.sleep(2)  # long enough for several retries, were any made
            assert state() == "not authorised" and browser.execute_script("return window.rollcast.socket.socket") is None, "it kept reconnecting"
            assert browser.execute_script("return window.rollcast.messages") == 0, "data reached a dashboard without a token"
            # A wrong token: refused, saying why.
            browser.get(f"{secured.url}/#token={token[:-4]}AAAA")
            browser.find_element(By.ID, "load-realtime").click()
            wait_for(lambda: state() == "not authorised", 10, "a forged token refused")
            assert "signature" in browser.find_element(By.ID, "empty").text
            # A token that expires while the page is live: the gateway ends the stream and the
            # page says why instead of showing charts that no longer move.
            browser.get(f"{secured.url}/#token={secured.token('read', ttl='3s')}")
            browser.find_element(By.ID, "load-realtime").click()
            wait_for(lambda: state() == "live", 10, "live with a 3 s token")
            wait_for(lambda: state() == "not authorised", 10, "'not authorised' once the token expired")
            note = browser.find_element(By.ID, "empty").text
            assert "expired" in note, f"the page does not say the token expired: {note!r}"
        finally:
            if browser:
                browser.quit()
            secured.close()

    def test_a_replayed_monthly_file_is_seen_whole_with_dates(self):
        """A public-data-shaped file (month names, gzip) with a 30-year window: every month drawn, dates in the header."""
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        rows = ["symbol,date,price"] + [f"MSFT,{months[m % 12]} 1 {2000 + m // 12},{20 + m * 0.5}" for m in range(120)]
        replay = Stack(producer_args=["--replay", "", "--speed", "max", "--window", "30y"])
        path = replay.run_dir / "stocks.csv.gz"
        path.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
        replay.producer_args[1] = str(path)
        browser = None
        try:
            replay.start_producer()
            replay.start_gateway()
            replay.wait_ready()
            browser = make_browser()
            browser.get(replay.url + "/")
            browser.find_element(By.ID, "load-realtime").click()
            wait_for(lambda: (chart_state(browser, "MSFT") or {}).get("points") == 120, 15, "all 120 months of MSFT drawn")
            state = chart_state(browser, "MSFT")
            assert state["lastT"] == 1259625600, f"the last point is not 1 Dec 2009: {state['lastT']}"
            header_time = browser.execute_script("return window.rollcast.board.cards.get('MSFT').time.textContent")
            assert "2009" in header_time, f"the header shows no date for a 30-year window: {header_time!r}"
        finally:
            if browser:
                browser.quit()
            replay.close()

    def test_gateway_restart_shows_reconnecting_then_resumes(self):
        b = self.browser
        port = self.stack.port
        Stack.stop(self.stack.gateway)
        wait_for(lambda: b.find_element(By.ID, "connection-state").text == "reconnecting…", 5, "state 'reconnecting…'")
        count = len(chart_symbols(b))
        messages = b.execute_script("return window.rollcast.messages")
        self.stack.start_gateway(port=port)
        wait_for(lambda: b.execute_script("return window.rollcast.messages") > messages + 1, 15, "updates after the restart")
        assert b.find_element(By.ID, "connection-state").text == "live"
        assert len(chart_symbols(b)) == count, "charts were duplicated after reconnecting"
        assert uplot_roots(b) <= count, "uPlot instances were duplicated after reconnecting"


def main():
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError(f"browser tests ran over {RUN_LIMIT_S}s")))
    signal.alarm(RUN_LIMIT_S)
    suite = DashboardTests()
    # Optional arguments pick tests by part of their name (the screenshot and stack are shared).
    tests = [name for name in DashboardTests.__dict__ if name.startswith("test_") and (len(sys.argv) < 2 or any(part in name for part in sys.argv[1:]))]
    passed = failed = 0
    try:
        suite.setup()
        for name in tests:
            started = time.monotonic()
            try:
                getattr(suite, name)()
                passed += 1
                print(f"  ok    {name} ({time.monotonic() - started:.1f}s)")
            except Exception:
                failed += 1
                print(f"  FAIL  {name}")
                traceback.print_exc()
    except Exception:
        traceback.print_exc()
        failed += len(tests) - passed - failed
    finally:
        try:
            if failed:
                for log in sorted(suite.stack.logs.glob("*.log")):
                    print(f"--- {log.name} (last lines)")
                    print("\n".join(log.read_text(errors="replace").splitlines()[-20:]))
            suite.teardown()
        finally:
            signal.alarm(0)
    print(f"browser: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

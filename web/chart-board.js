// The grid of charts: one uPlot per symbol, created once, updated with setData().

import { appendingLine } from "./line-path.js";

const priceFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 6 });
const changeFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "always" });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
// Windows of a day or more (a replayed daily or monthly file) need the date, not the time of day.
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const DAY_SECONDS = 86400;
const PLOT_HEIGHT = 200;
// The widest range a JavaScript Date holds: ±8.64e15 ms.
const MAX_SECONDS = 8.64e12;

/** Formats Unix seconds as a time of day, or with `withDate` a date and time; "–" for what no Date can hold. */
function formatTime(seconds, withDate = false) {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return "–";
  return (withDate ? dateTimeFormat : timeFormat).format(date);
}

/**
 * Why `chart` cannot be drawn, or null when it can: uPlot needs equal-length arrays, x values
 * strictly ascending and finite, and the header needs times a Date can hold.
 */
export function chartProblem(chart) {
  const { t, price } = chart;
  if (!Array.isArray(t) || !Array.isArray(price)) return "t and price must be lists";
  if (t.length !== price.length) return `t has ${t.length} points, price ${price.length}`;
  for (let i = 0; i < t.length; i++) {
    const x = t[i];
    if (typeof x !== "number" || !Number.isFinite(x) || Math.abs(x) > MAX_SECONDS) return `t[${i}] is not a time in Unix seconds: ${x}`;
    if (i > 0 && x <= t[i - 1]) return `t is not strictly ascending at ${i}`;
    const y = price[i];
    if (y !== null && (typeof y !== "number" || !Number.isFinite(y))) return `price[${i}] is not a number: ${y}`;
  }
  return null;
}

function cssColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#2563eb";
}

/** One symbol's card: a header with the figures and a uPlot chart. */
class ChartCard {
  constructor(symbol) {
    this.symbol = symbol;
    this.element = document.createElement("section");
    this.element.className = "chart";
    this.element.dataset.symbol = symbol;
    this.element.setAttribute("aria-label", `chart ${symbol}`);
    this.element.innerHTML = `
      <div class="chart-head">
        <span class="symbol"></span>
        <span class="last"></span>
        <span class="change"></span>
        <span class="range"></span>
        <span class="time"></span>
        <span class="invalid-note" role="alert" hidden></span>
      </div>
      <div class="plot"></div>`;
    this.element.querySelector(".symbol").textContent = symbol;
    this.last = this.element.querySelector(".last");
    this.change = this.element.querySelector(".change");
    this.range = this.element.querySelector(".range");
    this.time = this.element.querySelector(".time");
    this.invalidNote = this.element.querySelector(".invalid-note");
    this.plotElement = this.element.querySelector(".plot");
    this.plot = null;
    // Whether the chart's window is a day or more: its times then show their date.
    this.spansDays = false;
    // The newest chart object not yet drawn (while the card is filtered out or off screen).
    this.pending = null;
    // Set by the board's IntersectionObserver; charts off screen are drawn when they scroll in.
    this.onScreen = false;
  }

  get visible() {
    return !this.element.hidden;
  }

  get drawable() {
    return this.visible && this.onScreen;
  }

  /** Creates the uPlot instance once the card is in the page and has a width. */
  mount(data) {
    this.plot = new uPlot(
      {
        width: this.plotWidth(),
        height: PLOT_HEIGHT,
        cursor: { sync: { key: "rollcast", setSeries: false } },
        legend: { show: true, live: true },
        scales: { x: { time: true } },
        series: [
          { label: "time", value: (u, v) => (v == null ? "–" : formatTime(v, this.spansDays)) },
          // One pixel: a canvas drawn in software (no GPU, remote desktops, headless) draws a line
          // of at most one device pixel as a hairline, three times cheaper per redraw than 1.5 px
          // (docs/performance.md, "Rasterizing").
          {
            label: "price",
            stroke: cssColor("--line"),
            width: 1,
            paths: appendingLine(),
            value: (u, v) => (v == null ? "–" : priceFormat.format(v)),
          },
        ],
        axes: [
          { stroke: cssColor("--muted"), grid: { stroke: cssColor("--border") } },
          { stroke: cssColor("--muted"), grid: { stroke: cssColor("--border") }, size: 60 },
        ],
      },
      data,
      this.plotElement,
    );
  }

  plotWidth() {
    return Math.max(200, this.plotElement.clientWidth);
  }

  /** Shows `chart`: at once if the card can be seen, else when it next can. */
  update(chart) {
    const problem = chartProblem(chart);
    if (problem) {
      // The last good picture stays; the card says why it is not moving.
      this.pending = null;
      this.showInvalid(problem);
      return;
    }
    this.showInvalid(null);
    if (!this.drawable) {
      this.pending = chart;
      return;
    }
    this.pending = null;
    this.spansDays = chart.window_s >= DAY_SECONDS;
    const data = [chart.t, chart.price];
    if (this.plot === null) this.mount(data);
    else this.plot.setData(data);
    this.renderHeader(chart);
  }

  /** Marks the card as holding data that cannot be drawn (`reason`), or clears the mark (null). */
  showInvalid(reason) {
    this.element.classList.toggle("invalid", reason !== null);
    this.invalidNote.hidden = reason === null;
    this.invalidNote.textContent = reason === null ? "" : `invalid data: ${reason}`;
  }

  renderHeader(chart) {
    const prices = chart.price;
    if (prices.length === 0) {
      this.last.textContent = "no data";
      this.change.textContent = "";
      this.range.textContent = "";
      this.time.textContent = "";
      return;
    }
    const first = prices[0];
    const last = prices[prices.length - 1];
    const delta = last - first;
    const percent = first !== 0 ? (delta / first) * 100 : 0;
    let min = Infinity;
    let max = -Infinity;
    for (const p of prices) {
      if (p < min) min = p;
      if (p > max) max = p;
    }
    this.last.textContent = priceFormat.format(last);
    this.change.textContent = `${changeFormat.format(delta)} (${changeFormat.format(percent)}%)`;
    this.change.className = `change ${delta > 0 ? "up" : delta < 0 ? "down" : ""}`;
    this.range.textContent = `min ${priceFormat.format(min)} · max ${priceFormat.format(max)}`;
    this.time.textContent = formatTime(chart.t[chart.t.length - 1], this.spansDays);
  }

  setVisible(visible) {
    if (visible === this.visible) return;
    this.element.hidden = !visible;
    this.drawPending();
  }

  setOnScreen(onScreen) {
    this.onScreen = onScreen;
    this.drawPending();
  }

  drawPending() {
    if (!this.drawable) return;
    this.resize();
    if (this.pending) this.update(this.pending);
  }

  resize() {
    if (this.plot && this.visible) this.plot.setSize({ width: this.plotWidth(), height: PLOT_HEIGHT });
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.element.remove();
  }
}

/**
 * All charts on the page, by symbol, in alphabetical order. A snapshot creates cards for
 * new symbols, updates the rest with setData(), and removes symbols it no longer holds.
 */
export class ChartBoard {
  constructor(container) {
    this.container = container;
    this.cards = new Map();
    // By symbol: when the chart's data last moved, and how often it should.
    this.freshness = new Map();
    this.filter = "";
    this.resizeObserver = new ResizeObserver(() => {
      for (const card of this.cards.values()) card.resize();
    });
    this.resizeObserver.observe(container);
    // Drawing is most of an update's cost: charts scrolled out of view wait until they return.
    this.intersectionObserver = new IntersectionObserver((entries) => {
      for (const entry of entries) this.cards.get(entry.target.dataset.symbol)?.setOnScreen(entry.isIntersecting);
    });
  }

  /**
   * Shows `charts` (every chart held). With `changed` (a set of symbols), only those cards are
   * redrawn: the others hold the same arrays already.
   */
  apply(charts, changed = null) {
    const seen = new Set();
    for (const chart of charts) {
      if (typeof chart?.symbol !== "string") continue;
      seen.add(chart.symbol);
      if (changed !== null && !changed.has(chart.symbol) && this.cards.has(chart.symbol)) continue;
      let card = this.cards.get(chart.symbol);
      if (!card) {
        card = new ChartCard(chart.symbol);
        card.element.hidden = !this.matches(chart.symbol);
        this.insertInOrder(card);
        this.cards.set(chart.symbol, card);
        this.intersectionObserver.observe(card.element);
      }
      // One chart that fails must never stop the others.
      try {
        card.update(chart);
      } catch (error) {
        console.error(`rollcast: chart ${chart.symbol} could not be drawn`, error);
        card.showInvalid(String(error?.message ?? error));
      }
    }
    for (const [symbol, card] of this.cards) {
      if (!seen.has(symbol)) {
        this.intersectionObserver.unobserve(card.element);
        card.destroy();
        this.cards.delete(symbol);
      }
    }
  }

  insertInOrder(card) {
    let next = null;
    for (const symbol of this.cards.keys()) {
      if (symbol > card.symbol && (next === null || symbol < next)) next = symbol;
    }
    this.container.insertBefore(card.element, next ? this.cards.get(next).element : null);
  }

  matches(symbol) {
    return symbol.toLowerCase().includes(this.filter);
  }

  /** Shows only symbols containing `text` (case-insensitive); returns how many match. */
  setFilter(text) {
    this.filter = text.trim().toLowerCase();
    let shown = 0;
    for (const card of this.cards.values()) {
      const visible = this.matches(card.symbol);
      card.setVisible(visible);
      if (visible) shown += 1;
    }
    return shown;
  }

  get visibleCount() {
    let shown = 0;
    for (const card of this.cards.values()) if (card.visible) shown += 1;
    return shown;
  }

  /**
   * Gives every chart a copy of the points it shows: the delta stream extends the arrays it
   * holds in place, and a paused board must keep showing what it showed.
   */
  freeze() {
    for (const card of this.cards.values()) {
      if (card.plot) card.plot.setData(card.plot.data.map((values) => values.slice()), false);
    }
  }

  /**
   * Notes, for every chart of a message, whether its data moved: a gateway merging several
   * producers sends one producer's charts unchanged while it is down. Call for every message,
   * drawn or not (a paused board still learns what is stale).
   */
  noteSources(charts, now) {
    let newest = -Infinity;
    for (const chart of charts) if (chart.generated_at > newest) newest = chart.generated_at;
    const seen = new Set();
    for (const chart of charts) {
      seen.add(chart.symbol);
      const key = `${chart.run_id}/${chart.seq}`;
      let entry = this.freshness.get(chart.symbol);
      if (!entry) {
        entry = { key: null, at: now };
        this.freshness.set(chart.symbol, entry);
      }
      if (entry.key !== key) {
        entry.key = key;
        entry.at = now;
      }
      entry.intervalMs = chart.interval_ms > 0 ? chart.interval_ms : 2000;
      // How far this chart's producer is behind the newest in the message, both on producers' clocks.
      entry.behindMs = newest - chart.generated_at;
    }
    if (this.freshness.size > seen.size) for (const symbol of this.freshness.keys()) if (!seen.has(symbol)) this.freshness.delete(symbol);
  }

  /**
   * Marks stale every card whose data has not moved for 3 of its intervals (on this browser's
   * clock) or is 3 intervals behind the newest chart, and every card when `feedStale`.
   * @returns {number} how many cards are stale.
   */
  markStale(now, feedStale) {
    let count = 0;
    for (const [symbol, card] of this.cards) {
      const entry = this.freshness.get(symbol);
      const stale = feedStale || (entry !== undefined && (now - entry.at > 3 * entry.intervalMs || entry.behindMs > 3 * entry.intervalMs));
      card.element.classList.toggle("stale", stale);
      if (stale) count += 1;
    }
    return count;
  }
}

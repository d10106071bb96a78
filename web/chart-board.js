// The grid of charts: one uPlot per symbol, created once, updated with setData().

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

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
      </div>
      <div class="plot"></div>`;
    this.element.querySelector(".symbol").textContent = symbol;
    this.last = this.element.querySelector(".last");
    this.change = this.element.querySelector(".change");
    this.range = this.element.querySelector(".range");
    this.time = this.element.querySelector(".time");
    this.plotElement = this.element.querySelector(".plot");
    this.plot = null;
    this.generatedAt = 0;
    this.intervalMs = 2000;
  }

  /** Creates the uPlot instance once the card is in the page and has a width. */
  mount(data) {
    const width = Math.max(200, this.plotElement.clientWidth);
    this.plot = new uPlot(
      {
        width,
        height: 200,
        cursor: { sync: { key: "rollcast" } },
        legend: { show: false },
        scales: { x: { time: true } },
        series: [{}, { label: this.symbol, stroke: cssColor("--line"), width: 1.5 }],
        axes: [
          { stroke: cssColor("--muted"), grid: { stroke: cssColor("--border") } },
          { stroke: cssColor("--muted"), grid: { stroke: cssColor("--border") }, size: 60 },
        ],
      },
      data,
      this.plotElement,
    );
  }

  update(chart) {
    const data = [chart.t, chart.price];
    if (this.plot === null) this.mount(data);
    else this.plot.setData(data);
    this.generatedAt = chart.generated_at;
    this.intervalMs = chart.interval_ms || this.intervalMs;
    this.renderHeader(chart);
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
    this.last.textContent = numberFormat.format(last);
    this.change.textContent = `${delta >= 0 ? "+" : ""}${numberFormat.format(delta)} (${percent >= 0 ? "+" : ""}${percent.toFixed(2)}%)`;
    this.change.className = `change ${delta > 0 ? "up" : delta < 0 ? "down" : ""}`;
    this.range.textContent = `min ${numberFormat.format(min)} · max ${numberFormat.format(max)}`;
    this.time.textContent = timeFormat.format(new Date(chart.t[chart.t.length - 1] * 1000));
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: Math.max(200, this.plotElement.clientWidth), height: 200 });
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
    this.resizeObserver = new ResizeObserver(() => {
      for (const card of this.cards.values()) card.resize();
    });
    this.resizeObserver.observe(container);
  }

  apply(charts) {
    const seen = new Set();
    for (const chart of charts) {
      if (typeof chart?.symbol !== "string" || !Array.isArray(chart.t) || !Array.isArray(chart.price)) continue;
      seen.add(chart.symbol);
      let card = this.cards.get(chart.symbol);
      if (!card) {
        card = new ChartCard(chart.symbol);
        this.insertInOrder(card);
        this.cards.set(chart.symbol, card);
      }
      card.update(chart);
    }
    for (const [symbol, card] of this.cards) {
      if (!seen.has(symbol)) {
        card.destroy();
        this.cards.delete(symbol);
      }
    }
  }

  insertInOrder(card) {
    const next = [...this.cards.keys()].filter((symbol) => symbol > card.symbol).sort()[0];
    this.container.insertBefore(card.element, next ? this.cards.get(next).element : null);
  }

  /** Marks each card stale when its data is older than 3 intervals; returns whether any is. */
  markStale(now) {
    let anyStale = false;
    for (const card of this.cards.values()) {
      const stale = card.generatedAt > 0 && now - card.generatedAt > 3 * card.intervalMs;
      card.element.classList.toggle("stale", stale);
      anyStale ||= stale;
    }
    return anyStale;
  }
}

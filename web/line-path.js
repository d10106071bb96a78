// A price line that is built once and extended, for uPlot's `series.paths`.
//
// uPlot's own line builder turns every point into canvas pixels and one lineTo() per redraw:
// with 50 charts of 600 points that is 30,000 calls into the canvas per message, about a
// third of the page's drawing time (docs/performance.md, "The price line"). Here the line is
// kept in data units, relative to its first point, and only points that were not in it
// before are added; each redraw places the whole line with one transform. Points that left
// the window stay in the line until it is rebuilt, to the left of the plot, where uPlot's
// clip hides them.

/**
 * How many points a line may hold, the data's and those dropped since it was built, before it
 * is rebuilt without the dropped ones. Every point held is transformed and stroked per redraw,
 * and a rebuild costs one lineTo() per point: with 64 spare, a window that moves one point per
 * update is rebuilt once in 64 updates and carries at most 64 hidden points.
 */
function capacityFor(points) {
  return points + 64;
}

/** The points a line holds, in the order drawn, and how to extend it. */
class HeldLine {
  constructor(xs, ys) {
    const capacity = capacityFor(xs.length);
    this.ts = new Float64Array(capacity);
    // NaN where the price is null (a gap).
    this.ys = new Float64Array(capacity);
    // Held points before `start` have left the data (dropped from the front).
    this.start = 0;
    this.count = 0;
    this.t0 = xs[0];
    this.p0 = 0;
    for (const y of ys) {
      if (y != null) {
        this.p0 = y;
        break;
      }
    }
    this.path = new Path2D();
    // Whether the last point held was drawn (a null lifts the pen).
    this.open = false;
  }

  /**
   * How many of `xs`/`ys` this line holds already, from the front: the data must be the held
   * points from some index on, unchanged, then new ones.
   * @returns {number} that count, or -1 when the line must be rebuilt (a point changed or was
   *   removed from the end, or there is no room for the new ones).
   */
  heldOf(xs, ys) {
    let start = this.start;
    while (start < this.count && this.ts[start] !== xs[0]) start += 1;
    const kept = this.count - start;
    if (kept === 0 || kept > xs.length) return -1;
    for (let i = 0; i < kept; i++) {
      const y = ys[i];
      if (this.ts[start + i] !== xs[i] || (y == null ? !Number.isNaN(this.ys[start + i]) : this.ys[start + i] !== y)) return -1;
    }
    if (this.count + xs.length - kept > this.ts.length) return -1;
    this.start = start;
    return kept;
  }

  /** Adds `xs[from...]`/`ys[from...]` to the line. */
  append(xs, ys, from) {
    for (let i = from; i < xs.length; i++) {
      const y = ys[i];
      this.ts[this.count] = xs[i];
      this.ys[this.count] = y == null ? Number.NaN : y;
      this.count += 1;
      if (y == null) {
        this.open = false;
      } else if (this.open) {
        this.path.lineTo(xs[i] - this.t0, y - this.p0);
      } else {
        this.path.moveTo(xs[i] - this.t0, y - this.p0);
        this.open = true;
      }
    }
  }
}

/**
 * A `paths` function for one horizontal line series of one uPlot chart. Falls back to uPlot's
 * own builder where a line cannot be placed by a transform (fewer than two points, an empty
 * scale).
 */
export function appendingLine(fallback = uPlot.paths.linear()) {
  let line = null;
  const build = (u, seriesIndex, idx0, idx1) => {
    const xs = u.data[0];
    const ys = u.data[seriesIndex];
    const xScale = u.scales.x;
    const yScale = u.scales[u.series[seriesIndex].scale];
    const { left, top, width, height } = u.bbox;
    const pixelsPerSecond = width / (xScale.max - xScale.min);
    const pixelsPerUnit = -height / (yScale.max - yScale.min);
    if (xs.length < 2 || !Number.isFinite(pixelsPerSecond) || !Number.isFinite(pixelsPerUnit)) {
      line = null;
      return fallback(u, seriesIndex, idx0, idx1);
    }
    let from = line === null ? -1 : line.heldOf(xs, ys);
    if (from < 0) {
      line = new HeldLine(xs, ys);
      from = 0;
    }
    line.append(xs, ys, from);
    const stroke = new Path2D();
    const place = new DOMMatrix([
      pixelsPerSecond, 0, 0, pixelsPerUnit,
      left + (line.t0 - xScale.min) * pixelsPerSecond,
      top + height + (line.p0 - yScale.min) * pixelsPerUnit,
    ]);
    stroke.addPath(line.path, place);
    return { stroke, fill: null, clip: null, band: null, gaps: null, flags: 0 };
  };
  // For tests: the points the line holds that are still in the data.
  build.held = () => (line === null ? null : { t: Array.from(line.ts.subarray(line.start, line.count)), builtFrom: line.t0 });
  return build;
}

// The charts of the delta stream (rollcast.delta.v1): a full message, then deltas applied in
// place, so arrays the dashboard already holds are extended rather than rebuilt.

/** A delta that does not sit on the charts held: the socket must start again from a full message. */
export class DeltaGap extends Error {}

/** Removes `drop` values from the front and `replace` from the end of `values`, then appends `added`, in place. */
function edit(values, drop, replace, added) {
  if (drop > 0) values.splice(0, drop);
  if (replace > 0) values.length = Math.max(0, values.length - replace);
  for (let i = 0; i < added.length; i++) values.push(added[i]);
}

export class DeltaState {
  constructor() {
    this.charts = new Map();
    this.seq = null;
    this.runId = null;
    // Deltas applied since the page loaded (for tests and the console).
    this.applied = 0;
  }

  /**
   * Applies one message of the delta stream.
   * @returns {{charts: object[], changed: Set<string>|null}} every chart held (as full
   *   chart objects), and the symbols whose charts changed (null: all of them).
   * @throws {DeltaGap} when a delta's base is not what is held.
   */
  apply(message) {
    if (message.kind === "full") {
      if (!Array.isArray(message.charts)) throw new DeltaGap("a full message without charts");
      this.charts = new Map(message.charts.map((chart) => [chart.symbol, chart]));
      this.seq = message.seq;
      this.runId = message.run_id;
      return { charts: message.charts, changed: null };
    }
    if (message.kind !== "delta") throw new DeltaGap(`unknown message kind ${message.kind}`);
    if (message.run_id !== this.runId || message.base_seq !== this.seq) {
      throw new DeltaGap(`delta on ${message.run_id}/${message.base_seq}, holding ${this.runId}/${this.seq}`);
    }
    const changed = new Set();
    for (const change of message.charts ?? []) {
      const chart = this.charts.get(change.symbol);
      if (!chart) throw new DeltaGap(`delta for ${change.symbol}, which is not held`);
      edit(chart.t, change.drop, change.replace, change.t);
      edit(chart.price, change.drop, change.replace, change.price);
      edit(chart.volume, change.drop, change.replace, change.volume);
      chart.raw_points = change.raw_points;
      changed.add(change.symbol);
    }
    for (const chart of message.added ?? []) {
      this.charts.set(chart.symbol, chart);
      changed.add(chart.symbol);
    }
    for (const symbol of message.removed ?? []) this.charts.delete(symbol);
    // On a gateway merging several producers the delta is one producer's: only its charts
    // (those of its run) take its seq and generated_at; the others keep their own.
    const source = message.producer ?? null;
    for (const chart of this.charts.values()) {
      if (source !== null && chart.run_id !== source.run_id) continue;
      chart.seq = source?.seq ?? message.seq;
      chart.generated_at = source?.generated_at ?? message.generated_at;
      chart.window_s = message.window_s;
      chart.interval_ms = message.interval_ms;
    }
    this.seq = message.seq;
    this.applied += 1;
    return { charts: [...this.charts.values()], changed };
  }
}

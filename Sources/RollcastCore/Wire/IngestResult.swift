/// What the producer did with one batch of ticks: the answer to `POST /api/ingest`.
public struct IngestResult: Codable, Equatable, Sendable {
    /// Ticks later than every tick their window held before the batch, added at the end.
    public var appended: Int
    /// Ticks whose time a stored tick (or an earlier tick of the batch) already had: merged
    /// into it (its price wins, volumes add up).
    public var merged: Int
    /// Late ticks put in their place in time.
    public var inserted: Int
    /// Ticks older than their window on the producer's clock, dropped.
    public var tooOld: Int
    /// Symbols the batch added.
    public var newSymbols: [String]
    /// The first snapshot `seq` of this producer run that contains the batch.
    public var visibleFromSeq: UInt64
    /// The batch's `batch_id`, when it had one.
    public var batchID: String?
    /// Set when a batch with this `batch_id` was applied before: this one changed nothing,
    /// and the counts are those of the first.
    public var duplicate: Bool?

    public init(
        appended: Int = 0, merged: Int = 0, inserted: Int = 0, tooOld: Int = 0, newSymbols: [String] = [], visibleFromSeq: UInt64 = 0,
        batchID: String? = nil, duplicate: Bool? = nil
    ) {
        self.appended = appended
        self.merged = merged
        self.inserted = inserted
        self.tooOld = tooOld
        self.newSymbols = newSymbols
        self.visibleFromSeq = visibleFromSeq
        self.batchID = batchID
        self.duplicate = duplicate
    }

    /// Ticks the batch held, whatever became of them.
    public var ticks: Int { appended + merged + inserted + tooOld }

    enum CodingKeys: String, CodingKey {
        case appended, merged, inserted, duplicate
        case tooOld = "too_old"
        case newSymbols = "new_symbols"
        case visibleFromSeq = "visible_from_seq"
        case batchID = "batch_id"
    }
}

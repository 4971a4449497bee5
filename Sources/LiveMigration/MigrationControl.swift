import Synchronization

/// What a controller (`ringside ctl`) sees of one outgoing migration attempt and how it
/// stops one: the latest pre-copy round, and a cancel request that the attempt notices at
/// its next check before the hand-over's commit (`stillRunning`), then abandons as after any
/// other failure (the guest keeps running here). Set for an attempt with
/// `MigrationControl.$current.withValue(control) { ... }` around `MigrationSource.migrate`.
public final class MigrationControl: Sendable {
    /// One pre-copy round as the source measured it.
    public struct Round: Sendable, Equatable {
        public var number: Int
        public var pages: Int
        public var bytes: Int
        public var seconds: Double
        /// Pages dirty after the round: what the next round (or the hand-over) would send.
        public var pagesLeft: Int
        /// The bandwidth measured so far (bytes per second).
        public var bytesPerSecond: Double
        /// The downtime the budget expects for a hand-over with `pagesLeft` pages (`HandOverEstimate`).
        public var expectedDowntimeSeconds: Double
        /// How much auto-converge has slowed the guest (percent of its pace; 0: not at all).
        public var slowdownPercent = 0
    }

    /// The attempt the current task runs, if a controller watches it.
    @TaskLocal public static var current: MigrationControl?

    private let cancelRequested = Atomic<Bool>(false)
    private let latest = Mutex<Round?>(nil)

    public init() {}

    /// Asks the attempt to stop at its next check; after its commit it no longer checks.
    public func cancel() { cancelRequested.store(true, ordering: .releasing) }

    public var isCancelRequested: Bool { cancelRequested.load(ordering: .acquiring) }

    /// The latest round (nil before the first ends).
    public var lastRound: Round? { latest.withLock { $0 } }

    func record(_ round: Round) { latest.withLock { $0 = round } }
}

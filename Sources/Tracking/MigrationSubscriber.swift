import Synchronization

/// A migration consumer: accumulates the dirty pages of every slot until it takes them.
///
/// A new subscriber starts with every page of every slot dirty, so its first take is the whole
/// memory. A take hands the set over and starts an empty one; a send that failed gives its
/// set back, and the pages are merged into what accumulated meanwhile, so a retry sends them.
/// All calls go through its `TrackingSession`, under the session lock.
public final class MigrationSubscriber: DirtyPageConsumer, Sendable {
    public let wantsSlots: Set<UInt32>
    /// Pages dirtied since the last take (plus anything given back), and the takes so far:
    /// round `n` is the set handed over by the n-th take (0 = whole memory). Behind its own
    /// lock as well as the session's: one uncontended lock per slot a harvest delivers.
    private let state: Mutex<(pending: MigrationPageSet, round: Int)>

    init(pageCounts: [(id: UInt32, pages: Int)]) {
        wantsSlots = Set(pageCounts.map(\.id))
        state = Mutex((MigrationPageSet(pageCounts: pageCounts, all: true), 0))
    }

    /// Takes so far.
    public var round: Int { state.withLock { $0.round } }

    /// What has accumulated since the last take.
    var pending: MigrationPageSet { state.withLock { $0.pending } }

    /// `pending` with the number of takes so far, read together.
    var pendingWithRound: (round: Int, pages: MigrationPageSet) { state.withLock { ($0.round, $0.pending) } }

    public func consume(slot: UInt32, pages: UnsafeBufferPointer<UInt64>) {
        state.withLock { $0.pending.insert(slot: slot, pages: pages) }
    }

    /// Hands the accumulated set over and starts an empty one; `round` counts it.
    func take() -> MigrationPageSet {
        state.withLock { s in
            let set = s.pending
            s.pending = set.emptied()
            s.round += 1
            return set
        }
    }

    func giveBack(_ set: MigrationPageSet) { state.withLock { $0.pending.formUnion(set) } }
}

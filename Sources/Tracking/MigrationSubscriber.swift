/// A migration consumer: accumulates the dirty pages of every slot until it takes them.
///
/// A new subscriber starts with every page of every slot dirty, so its first take is the whole
/// memory. A take hands the set over and starts an empty one; a send that failed gives its
/// set back, and the pages are merged into what accumulated meanwhile, so a retry sends them.
/// All calls go through its `TrackingSession`, under the session lock.
///
/// `@unchecked Sendable`: its set and round are touched only under the session lock.
public final class MigrationSubscriber: DirtyPageConsumer, @unchecked Sendable {
    public let wantsSlots: Set<UInt32>
    /// Pages dirtied since the last take (plus anything given back).
    private(set) var pending: MigrationPageSet
    /// Takes so far: round `n` is the set handed over by the n-th take (0 = whole memory).
    public private(set) var round = 0

    init(pageCounts: [(id: UInt32, pages: Int)]) {
        wantsSlots = Set(pageCounts.map(\.id))
        pending = MigrationPageSet(pageCounts: pageCounts, all: true)
    }

    public func consume(slot: UInt32, pages: UnsafeBufferPointer<UInt64>) {
        pending.insert(slot: slot, pages: pages)
    }

    func take() -> MigrationPageSet {
        let set = pending
        pending = set.emptied()
        round += 1
        return set
    }

    func giveBack(_ set: MigrationPageSet) { pending.formUnion(set) }
}

import Machine

/// The migration side of the split: a deduplicated list of dirty pages across every slot,
/// collected in rounds (start a round, take the pages since, end the round).
public final class MigrationDirtyList: DirtyPageConsumer {
    public struct Round: Sendable {
        public var number: Int
        /// Dirty pages per slot, in first-seen order, each page once.
        public var pages: [UInt32: [UInt64]]
        public var total: Int { pages.values.reduce(0) { $0 + $1.count } }
    }

    /// The state of one slot in the current round. Lists are kept by slot id in an array, so
    /// folding a harvest costs array stores, not a dictionary lookup per page.
    private struct SlotList {
        var seen: [UInt64]
        var pages: [UInt64] = []
    }

    public let slotPageCounts: [UInt32: Int]
    public let wantsSlots: Set<UInt32>
    private var slots: [SlotList?]
    public private(set) var round = 0

    public init(slotPageCounts: [UInt32: Int]) {
        self.slotPageCounts = slotPageCounts
        wantsSlots = Set(slotPageCounts.keys)
        slots = Array(repeating: nil, count: Int(slotPageCounts.keys.max() ?? 0) + 1)
        for (slot, count) in slotPageCounts {
            slots[Int(slot)] = SlotList(seen: [UInt64](repeating: 0, count: (count + 63) / 64))
        }
    }

    public func consume(slot: UInt32, pages: UnsafeBufferPointer<UInt64>) {
        guard Int(slot) < slots.count, var list = slots[Int(slot)] else { return }
        slots[Int(slot)] = nil // keep the arrays uniquely referenced while mutating them
        for p in pages where p < UInt64(list.seen.count * 64) {
            let w = Int(p >> 6), b = UInt64(1) << (p & 63)
            if list.seen[w] & b == 0 {
                list.seen[w] |= b
                list.pages.append(p)
            }
        }
        slots[Int(slot)] = list
    }

    /// Whether `page` of `slot` is already listed in the current round.
    public func isListed(slot: UInt32, page: UInt64) -> Bool {
        guard Int(slot) < slots.count, let list = slots[Int(slot)], page < UInt64(list.seen.count * 64) else { return false }
        return list.seen[Int(page >> 6)] & (UInt64(1) << (page & 63)) != 0
    }

    /// Pages listed so far in the current round.
    public var pagesSince: [UInt32: [UInt64]] {
        var out: [UInt32: [UInt64]] = [:]
        for (i, list) in slots.enumerated() { if let list { out[UInt32(i)] = list.pages } }
        return out
    }

    /// The current round's list as one bit per page (bit `p % 64` of word `p / 64`) for each
    /// slot: the list's own dedupe bitmaps, shared copy-on-write, for pictures of the list.
    public var listedPageBits: [UInt32: [UInt64]] {
        var out: [UInt32: [UInt64]] = [:]
        for (i, list) in slots.enumerated() { if let list { out[UInt32(i)] = list.seen } }
        return out
    }

    /// Ends the current round, returning its list, and starts the next.
    public func endRound() -> Round {
        let r = Round(number: round, pages: pagesSince)
        for i in slots.indices where slots[i] != nil {
            var list = slots[i]!
            slots[i] = nil
            for p in list.pages { list.seen[Int(p >> 6)] = 0 }
            list.pages.removeAll(keepingCapacity: true)
            slots[i] = list
        }
        round += 1
        return r
    }
}

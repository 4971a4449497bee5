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

    public let slotPageCounts: [UInt32: Int]
    private var seen: [UInt32: [UInt64]]
    private var current: [UInt32: [UInt64]]
    public private(set) var round = 0
    public let wantsSlots: Set<UInt32>

    public init(slotPageCounts: [UInt32: Int]) {
        self.slotPageCounts = slotPageCounts
        wantsSlots = Set(slotPageCounts.keys)
        seen = slotPageCounts.mapValues { [UInt64](repeating: 0, count: ($0 + 63) / 64) }
        current = slotPageCounts.mapValues { _ in [] }
    }

    public func consume(slot: UInt32, pages: UnsafeBufferPointer<UInt64>) {
        guard var bits = seen[slot] else { return }
        seen[slot] = nil // keep the array uniquely referenced while mutating it
        for p in pages {
            let w = Int(p >> 6), b = UInt64(1) << (p & 63)
            if bits[w] & b == 0 { bits[w] |= b; current[slot, default: []].append(p) }
        }
        seen[slot] = bits
    }

    /// Whether `page` of `slot` is already listed in the current round.
    public func isListed(slot: UInt32, page: UInt64) -> Bool {
        guard let bits = seen[slot] else { return false }
        return bits[Int(page >> 6)] & (UInt64(1) << (page & 63)) != 0
    }

    /// Pages listed so far in the current round.
    public var pagesSince: [UInt32: [UInt64]] { current }

    /// Ends the current round, returning its list, and starts the next.
    public func endRound() -> Round {
        let r = Round(number: round, pages: current)
        for (slot, pages) in current {
            var bits = seen[slot]!
            for p in pages { bits[Int(p >> 6)] = 0 }
            seen[slot] = bits
            current[slot] = []
        }
        round += 1
        return r
    }
}

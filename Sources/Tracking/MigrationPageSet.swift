/// Dirty pages per memory slot, one bit per page: what a migration subscriber has accumulated,
/// or what one take handed over. Pages come out in ascending order, ready to send as ranges.
public struct MigrationPageSet: Sendable, Equatable {
    /// One slot's pages: bit `p % 64` of word `p / 64` is page `p`.
    public struct Slot: Sendable, Equatable {
        public let id: UInt32
        public let pageCount: Int
        public fileprivate(set) var words: [UInt64]
        public fileprivate(set) var count = 0

        init(id: UInt32, pageCount: Int, all: Bool) {
            self.id = id
            self.pageCount = pageCount
            words = [UInt64](repeating: all ? ~0 : 0, count: (pageCount + 63) / 64)
            if all {
                if pageCount & 63 != 0 { words[words.count - 1] = (UInt64(1) << UInt64(pageCount & 63)) - 1 }
                count = pageCount
            }
        }

        public func contains(_ page: UInt64) -> Bool {
            page < UInt64(pageCount) && words[Int(page >> 6)] & (UInt64(1) << (page & 63)) != 0
        }

        /// Calls `body` with every page in the set, ascending.
        public func forEachPage(_ body: (UInt64) throws -> Void) rethrows {
            for (w, bits) in words.enumerated() where bits != 0 {
                var b = bits
                while b != 0 {
                    try body(UInt64(w << 6 | b.trailingZeroBitCount))
                    b &= b &- 1
                }
            }
        }

        /// The pages, ascending.
        public var pages: [UInt64] {
            var out: [UInt64] = []
            out.reserveCapacity(count)
            forEachPage { out.append($0) }
            return out
        }

        @inline(__always)
        mutating func insert(_ page: UInt64) {
            guard page < UInt64(pageCount) else { return }
            let w = Int(page >> 6), bit = UInt64(1) << (page & 63)
            if words[w] & bit == 0 { words[w] |= bit; count += 1 }
        }

        mutating func formUnion(_ other: Slot) {
            precondition(other.id == id && other.pageCount == pageCount, "page sets of different slots")
            var n = 0
            for i in words.indices { words[i] |= other.words[i]; n += words[i].nonzeroBitCount }
            count = n
        }
    }

    /// Slots by id (nil where the set has no such slot).
    public fileprivate(set) var slots: [Slot?]

    /// An empty set (or, with `all`, every page) for slots of the given page counts, by id.
    public init(pageCounts: [(id: UInt32, pages: Int)], all: Bool = false) {
        slots = Array(repeating: nil, count: Int(pageCounts.map(\.id).max() ?? 0) + 1)
        for (id, pages) in pageCounts { slots[Int(id)] = Slot(id: id, pageCount: pages, all: all) }
    }

    /// Pages in every slot.
    public var total: Int { slots.reduce(0) { $0 + ($1?.count ?? 0) } }
    public var isEmpty: Bool { total == 0 }

    public subscript(slot id: UInt32) -> Slot? { Int(id) < slots.count ? slots[Int(id)] : nil }

    /// The pages of slot `id`, ascending (empty when the set has no such slot).
    public func pages(slot id: UInt32) -> [UInt64] { self[slot: id]?.pages ?? [] }

    public func contains(slot id: UInt32, page: UInt64) -> Bool { self[slot: id]?.contains(page) ?? false }

    /// Adds one page of slot `id` (ignored past the slot's end or for a slot the set lacks).
    public mutating func insert(slot id: UInt32, page: UInt64) {
        guard Int(id) < slots.count, slots[Int(id)] != nil else { return }
        slots[Int(id)]!.insert(page)
    }

    mutating func insert(slot id: UInt32, pages: UnsafeBufferPointer<UInt64>) {
        guard Int(id) < slots.count, var s = slots[Int(id)] else { return }
        slots[Int(id)] = nil // keep the words uniquely referenced while inserting
        for p in pages { s.insert(p) }
        slots[Int(id)] = s
    }

    /// Adds every page of `other` (a set taken from the same subscriber).
    public mutating func formUnion(_ other: MigrationPageSet) {
        for case let o? in other.slots where Int(o.id) < slots.count {
            guard var s = slots[Int(o.id)] else { continue }
            slots[Int(o.id)] = nil
            s.formUnion(o)
            slots[Int(o.id)] = s
        }
    }

    /// The same slots, empty.
    func emptied() -> MigrationPageSet {
        MigrationPageSet(pageCounts: slots.compactMap { $0.map { ($0.id, $0.pageCount) } })
    }
}

/// Dirty pages per memory slot, one bit per page: what a migration subscriber has accumulated,
/// or what one take handed over. Pages come out in ascending order, ready to send as ranges.
public struct MigrationPageSet: Sendable, Equatable {
    /// One slot's pages: bit `p % 64` of word `p / 64` is page `p`.
    public struct Slot: Sendable, Equatable {
        public let id: UInt32
        public let pageCount: Int
        /// Bit `p % 64` of word `p / 64`, in chunks of `chunkWords` words allocated on their
        /// first page, so an empty set of a 16 GiB slot costs 64 nil entries, not 512 KiB:
        /// taking a set and starting an empty one stays cheap whatever the RAM size.
        fileprivate var chunks: [[UInt64]?]
        public fileprivate(set) var count = 0
        /// 1024 words: 65536 pages (256 MiB) per chunk.
        static let chunkWords = 1024

        init(id: UInt32, pageCount: Int, all: Bool) {
            self.id = id
            self.pageCount = pageCount
            let wordCount = (pageCount + 63) / 64
            let chunkCount = (wordCount + Self.chunkWords - 1) / Self.chunkWords
            chunks = Array(repeating: nil, count: chunkCount)
            if all {
                for c in 0..<chunkCount {
                    var words = [UInt64](repeating: ~0, count: min(Self.chunkWords, wordCount - c * Self.chunkWords))
                    if c == chunkCount - 1, pageCount & 63 != 0 { words[words.count - 1] = (UInt64(1) << UInt64(pageCount & 63)) - 1 }
                    chunks[c] = words
                }
                count = pageCount
            }
        }

        /// Every word of the slot (one bit per page), zeros included: O(slot size), for pictures.
        public var words: [UInt64] {
            var out: [UInt64] = []
            let wordCount = (pageCount + 63) / 64
            out.reserveCapacity(wordCount)
            for (c, chunk) in chunks.enumerated() {
                if let chunk { out += chunk } else { out += repeatElement(0, count: min(Self.chunkWords, wordCount - c * Self.chunkWords)) }
            }
            return out
        }

        public func contains(_ page: UInt64) -> Bool {
            guard page < UInt64(pageCount), let chunk = chunks[Int(page >> 6) / Self.chunkWords] else { return false }
            return chunk[Int(page >> 6) % Self.chunkWords] & (UInt64(1) << (page & 63)) != 0
        }

        /// Calls `body` with every page in the set, ascending.
        public func forEachPage(_ body: (UInt64) throws -> Void) rethrows {
            for (c, chunk) in chunks.enumerated() {
                guard let chunk else { continue }
                let base = c * Self.chunkWords
                for (w, bits) in chunk.enumerated() where bits != 0 {
                    var b = bits
                    while b != 0 {
                        try body(UInt64((base + w) << 6 | b.trailingZeroBitCount))
                        b &= b &- 1
                    }
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
            let c = w / Self.chunkWords, i = w % Self.chunkWords
            if chunks[c] == nil {
                chunks[c] = [UInt64](repeating: 0, count: min(Self.chunkWords, (pageCount + 63) / 64 - c * Self.chunkWords))
            }
            if chunks[c]![i] & bit == 0 { chunks[c]![i] |= bit; count += 1 }
        }

        mutating func formUnion(_ other: Slot) {
            precondition(other.id == id && other.pageCount == pageCount, "page sets of different slots")
            var n = 0
            for c in chunks.indices {
                if let theirs = other.chunks[c] {
                    if var mine = chunks[c] {
                        chunks[c] = nil // keep the words uniquely referenced while merging
                        for i in mine.indices { mine[i] |= theirs[i] }
                        chunks[c] = mine
                    } else {
                        chunks[c] = theirs
                    }
                }
                if let mine = chunks[c] { for w in mine { n += w.nonzeroBitCount } }
            }
            count = n
        }

        public static func == (a: Slot, b: Slot) -> Bool {
            guard a.id == b.id, a.pageCount == b.pageCount, a.count == b.count else { return false }
            for c in a.chunks.indices where a.chunks[c] != b.chunks[c] {
                // A nil chunk equals an allocated one that is all zeros.
                let x = a.chunks[c] ?? [], y = b.chunks[c] ?? []
                if !(x.allSatisfy { $0 == 0 } && y.allSatisfy { $0 == 0 }) { return false }
            }
            return true
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

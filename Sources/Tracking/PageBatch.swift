/// The dirty pages of one slot in one harvest, deduplicated: a page bitmap says what was
/// seen, a list keeps the order. Buffers are preallocated for the slot's size, so a
/// harvest allocates nothing. A value type: the harvest moves it into a local while walking
/// the rings, so each entry costs array stores, not exclusivity checks on a class.
struct PageBatch {
    let slot: UInt32
    let pageCount: Int
    private var seen: [UInt64]
    private var list: [UInt64]
    private(set) var count = 0
    /// Entries that repeated a page already in this batch.
    private(set) var duplicates = 0
    /// Entries for pages outside the slot (never expected; counted, not trusted).
    private(set) var outOfRange = 0

    init(slot: UInt32, pageCount: Int) {
        self.slot = slot
        self.pageCount = pageCount
        seen = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
        list = [UInt64](repeating: 0, count: pageCount)
    }

    @inline(__always)
    mutating func add(_ page: UInt64) {
        guard page < UInt64(pageCount) else { outOfRange += 1; return }
        let w = Int(page >> 6), bit = UInt64(1) << (page & 63)
        if seen[w] & bit != 0 { duplicates += 1; return }
        seen[w] |= bit
        list[count] = page
        count += 1
    }

    /// Adds every set bit of a `KVM_GET_DIRTY_LOG` bitmap.
    mutating func addBitmap(_ words: UnsafeBufferPointer<UInt64>) {
        for (i, w) in words.enumerated() where w != 0 {
            var word = w
            while word != 0 {
                add(UInt64(i * 64 + word.trailingZeroBitCount))
                word &= word - 1
            }
        }
    }

    /// Removes every `n`-th page, counting across calls with `counter` (fault injection for
    /// `ringside verify`'s own test: a broken collector must be caught).
    mutating func dropEvery(_ n: Int, counter: inout Int) {
        var kept = 0
        for i in 0..<count {
            counter += 1
            if counter % n == 0 { // forget it: call after the last `add` of this harvest
                let p = list[i]
                seen[Int(p >> 6)] &= ~(UInt64(1) << (p & 63))
                continue
            }
            list[kept] = list[i]
            kept += 1
        }
        count = kept
    }

    func withPages<R>(_ body: (UnsafeBufferPointer<UInt64>) -> R) -> R {
        list.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[0..<count])) }
    }

    /// Empties the batch in time proportional to what it held.
    mutating func reset() {
        for i in 0..<count { let p = list[i]; seen[Int(p >> 6)] &= ~(UInt64(1) << (p & 63)) }
        count = 0
        duplicates = 0
        outOfRange = 0
    }
}

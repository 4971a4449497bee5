import Synchronization

/// Pages the VMM itself wrote into guest memory since the last harvest. KVM logs only the
/// guest's writes, so every VMM write goes through `Machine.writeGuest`, which writes first and
/// then records the pages here; the harvest drains them with the ring or bitmap entries.
///
/// Order matters: write, then record. A harvest that drains the record reads the page after
/// the write; a write that lands after the drain records the page again for the next harvest.
final class GuestWriteLog: Sendable {
    private struct Pending {
        /// Per slot: one bit per page already pending (allocated on the slot's first write).
        var seen: [[UInt64]]
        var pages: [(slot: UInt32, page: UInt64)] = []
    }
    private let state: Mutex<Pending>
    private let pageCounts: [Int]

    init(pageCounts: [Int]) {
        self.pageCounts = pageCounts
        state = Mutex(Pending(seen: Array(repeating: [], count: pageCounts.count)))
    }

    /// Records pages `first...last` of `slot` as written by the VMM. Memory stays bounded by
    /// the slot size: a page already pending is not recorded twice.
    func record(slot: UInt32, pages range: ClosedRange<UInt64>) {
        let s = Int(slot)
        guard s < pageCounts.count else { return }
        state.withLock { p in
            if p.seen[s].isEmpty { p.seen[s] = [UInt64](repeating: 0, count: (pageCounts[s] + 63) / 64) }
            for page in range where page < UInt64(pageCounts[s]) {
                let w = Int(page >> 6), bit = UInt64(1) << (page & 63)
                if p.seen[s][w] & bit != 0 { continue }
                p.seen[s][w] |= bit
                p.pages.append((slot, page))
            }
        }
    }

    /// Hands every pending page to `body` and forgets them.
    func drain(_ body: (UInt32, UInt64) -> Void) {
        state.withLock { p in
            for (slot, page) in p.pages {
                p.seen[Int(slot)][Int(page >> 6)] &= ~(UInt64(1) << (page & 63))
                body(slot, page)
            }
            p.pages.removeAll(keepingCapacity: true)
        }
    }
}

import Foundation
import Machine
import MigrationWire

/// The pages of a memory slot that are not zero, found cheaply: pages the kernel reports as
/// never touched (`mincore`: not resident in the shared anonymous mapping) are zero and are
/// not even read (reading would allocate them); the others are compared with zero. With swap
/// configured a page may be out of memory and still hold data, so then every page is read.
enum NonZeroPages {
    /// Calls `body` with every page of `slot` that is not zero, ascending.
    static func forEach(in slot: MemorySlot, _ body: (UInt64) throws -> Void) rethrows {
        let pages = slot.pageCount
        var resident = [UInt8](repeating: 1, count: pages)
        // SAFETY: the mapping is memory.size bytes (page-aligned, from mmap); mincore writes
        // one byte per page into `resident`, which has exactly that many.
        if swapIsConfigured || mincore(slot.memory.base, slot.memory.size, &resident) != 0 {
            resident = [UInt8](repeating: 1, count: pages)
        }
        for p in 0..<pages where resident[p] & 1 != 0 && !isZero(page(p, of: slot)) {
            try body(UInt64(p))
        }
    }

    /// Page `p` of `slot` (p < slot.pageCount).
    static func page(_ p: Int, of slot: MemorySlot) -> UnsafeRawBufferPointer {
        precondition(p >= 0 && p < slot.pageCount, "page outside the slot")
        // SAFETY: p < pageCount, so the page lies inside the slot's mapping, which lives as
        // long as the machine; the vCPUs are paused, so the guest does not write it meanwhile.
        return UnsafeRawBufferPointer(start: slot.memory.base + p * MigrationWire.pageSize, count: MigrationWire.pageSize)
    }

    static func isZero(_ page: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < page.count {
            if page.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        return true
    }

    /// Whether /proc/swaps lists any swap area (read once).
    static let swapIsConfigured: Bool = {
        guard let text = try? String(contentsOfFile: "/proc/swaps", encoding: .utf8) else { return false }
        return text.split(separator: "\n").count > 1 // a heading line, then one per area
    }()
}

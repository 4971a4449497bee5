import Machine
import Tracking
#if canImport(Glibc)
import Glibc
#endif

/// A copy of every memory slot of a machine, updated only from migration page sets: what a
/// migration destination would hold. Compared with guest memory while the guest is held, any
/// difference is a page that changed without being reported.
public final class PageMirror {
    private var copies: [[UInt8]]
    public private(set) var pagesApplied = 0
    /// Pages in every slot.
    public let totalPages: Int

    /// Starts from zeros: a new subscriber's first take is the whole memory.
    public init(_ machine: Machine) {
        copies = machine.slots.map { [UInt8](repeating: 0, count: $0.memory.size) }
        totalPages = machine.slots.reduce(0) { $0 + $1.pageCount }
    }

    /// Copies the pages in `set` from guest memory. The guest must be held (paused or at a
    /// lockstep doorbell), so the pages are still.
    public func apply(_ set: MigrationPageSet, from machine: Machine) {
        let size = GuestLayout.pageSize
        for slot in machine.slots {
            guard let pages = set[slot: slot.id] else { continue }
            copies[Int(slot.id)].withUnsafeMutableBytes { dst in
                pages.forEachPage { p in
                    let off = Int(p) * size
                    // SAFETY: p < the slot's page count, so both ranges lie inside their buffers.
                    (dst.baseAddress! + off).copyMemory(from: slot.memory.base + off, byteCount: size)
                    pagesApplied += 1
                }
            }
        }
    }

    /// A page that differs from guest memory: its slot, index, and the first 8 bytes of the
    /// guest's copy (the frame number, for `pagewriter`).
    public struct Difference: Sendable, CustomStringConvertible {
        public var slot: UInt32
        public var slotName: String
        public var page: Int
        public var firstWord: UInt64
        public var description: String { "\(slotName) page \(page) (slot \(slot)), first word \(firstWord)" }
    }

    /// Every page that differs from guest memory (the guest must be held), at most `limit`.
    /// With `repair`, each is then copied, so a later call reports only new losses.
    public func differences(_ machine: Machine, limit: Int = 16, repair: Bool = false) -> [Difference] {
        let size = GuestLayout.pageSize
        var out: [Difference] = []
        for slot in machine.slots {
            copies[Int(slot.id)].withUnsafeMutableBytes { mirror in
                for p in 0..<slot.pageCount where out.count < limit {
                    let guest = slot.memory.base + p * size
                    if memcmp(mirror.baseAddress! + p * size, guest, size) != 0 {
                        out.append(Difference(slot: slot.id, slotName: slot.name, page: p, firstWord: guest.load(as: UInt64.self)))
                        if repair { (mirror.baseAddress! + p * size).copyMemory(from: guest, byteCount: size) }
                    }
                }
            }
        }
        return out
    }
}

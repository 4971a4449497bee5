internal import CKVM

/// One dirty `(slot, page)` pair, as a ring entry or a bitmap bit reports it.
public struct DirtyPage: Equatable, Hashable, Sendable {
    /// Memory slot id (address-space id in the upper 16 bits, 0 here).
    public var slot: UInt32
    /// Page index within the slot.
    public var page: UInt64
    public init(slot: UInt32, page: UInt64) {
        self.slot = slot
        self.page = page
    }
}

/// A vCPU's dirty ring: an array of `struct kvm_dirty_gfn { u32 flags; u32 slot; u64 offset; }`
/// shared with the kernel, and the fetch index only userspace keeps.
///
/// The memory is either the vCPU's mapping (`KVM_DIRTY_LOG_PAGE_OFFSET`) or, in tests,
/// ordinary memory playing the kernel's part. The ring does not own it, and is not `Sendable`:
/// it lives inside its `VCPU`, whose harvests are serialized.
public struct DirtyRingView {
    static let flagDirty: UInt32 = 1
    static let flagReset: UInt32 = 2

    public let entries: UnsafeMutableRawPointer
    public let count: Int
    /// Index (monotonic, not wrapped) of the next entry to look at.
    public private(set) var fetchIndex: UInt32 = 0

    public init(entries: UnsafeMutableRawPointer, count: Int) {
        precondition(count > 0 && count & (count - 1) == 0, "ring size must be a power of two")
        self.entries = entries
        self.count = count
    }

    /// Walks entries in order from the fetch index while they are marked dirty:
    /// load-acquire of `flags` (so `slot`/`offset` are read after the kernel published them),
    /// hand `(slot, offset)` to `body`, then store-release of `RESET` (the kernel may
    /// recycle the entry once it sees that and `KVM_RESET_DIRTY_RINGS` runs).
    /// Stops after `limit` entries. Returns how many entries were collected.
    @inline(__always)
    public mutating func harvest(limit: Int = .max, _ body: (UInt32, UInt64) -> Void) -> Int {
        var n = 0
        let mask = UInt32(count - 1)
        while n < limit {
            // SAFETY: index is masked into [0, count); each entry is 16 bytes inside the mapping.
            let entry = entries + Int(fetchIndex & mask) * 16
            let flags = entry.assumingMemoryBound(to: UInt32.self)
            if ckvm_load_acquire_u32(flags) & Self.flagDirty == 0 { break }
            let slot = entry.load(fromByteOffset: 4, as: UInt32.self)
            let offset = entry.load(fromByteOffset: 8, as: UInt64.self)
            body(slot, offset)
            ckvm_store_release_u32(flags, Self.flagReset)
            fetchIndex &+= 1
            n += 1
        }
        return n
    }
}

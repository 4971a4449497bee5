import Dispatch
import KVM
import Machine

/// What one harvest found and what it cost.
public struct HarvestResult: Sendable {
    /// Ring entries walked, or set bits read from `KVM_GET_DIRTY_LOG`.
    public var entries = 0
    /// Entries naming a page already seen in this harvest.
    public var duplicates = 0
    public var uniquePages = 0
    /// Count `KVM_RESET_DIRTY_RINGS` returned (ring mode).
    public var resetCount = 0
    public var harvestNanos: UInt64 = 0
    public var resetNanos: UInt64 = 0
}

/// One pass over the KVM dirty log, handed to every subscribed consumer.
///
/// Ring mode: walk each vCPU's ring from its fetch index, then `KVM_RESET_DIRTY_RINGS`,
/// and only then deliver (consumers may read page contents: reset before read).
/// Bitmap mode: `KVM_GET_DIRTY_LOG` per slot, then `KVM_CLEAR_DIRTY_LOG` where manual
/// protect is on, then deliver. Callers serialize harvests (one lock in `TrackingSession`).
final class DirtyHarvester {
    let mode: TrackingMode
    let machine: Machine
    private var consumers: [DirtyPageConsumer] = []
    /// Batches and `KVM_GET_DIRTY_LOG` bitmaps indexed by slot id (0 RAM, 1 framebuffer);
    /// nil for a slot nobody logs. Arrays, not dictionaries: mutating them allocates nothing.
    private var batches: [PageBatch?] = [nil, nil]
    private var slotBitmaps: [[UInt64]] = [[], []]
    private let manualProtect: Bool
    /// Set when `KVM_RESET_DIRTY_RINGS` reset a different number of entries than were walked.
    private(set) var resetMismatches = 0

    init(machine: Machine, mode: TrackingMode) {
        self.machine = machine
        self.mode = mode
        if case .bitmap(let m) = machine.config.dirtyLogging { manualProtect = m != 0 } else { manualProtect = false }
        let pageSize = GuestLayout.pageSize
        let slots: [(UInt32, Int)] = [
            (GuestLayout.ramSlot, machine.ram.size / pageSize),
            (GuestLayout.framebufferSlot, machine.framebuffer.size / pageSize),
        ]
        for (slot, pages) in slots where slot == GuestLayout.framebufferSlot || machine.config.logRAM {
            batches[Int(slot)] = PageBatch(slot: slot, pageCount: pages)
            if mode == .bitmap { slotBitmaps[Int(slot)] = [UInt64](repeating: 0, count: (pages + 63) / 64) }
        }
    }

    func subscribe(_ consumer: DirtyPageConsumer) { consumers.append(consumer) }

    /// Harvests every vCPU's ring (or every slot's bitmap), resets, then delivers.
    func harvest() throws(KVMError) -> HarvestResult {
        var result = HarvestResult()
        let t0 = DispatchTime.now().uptimeNanoseconds
        switch mode {
        case .ring:
            // Move the batches into locals for the walk: the per-entry path then touches
            // only local arrays (no exclusivity checks on class storage).
            var ram: PageBatch?, fb: PageBatch?
            swap(&ram, &batches[0])
            swap(&fb, &batches[1])
            result.entries += machine.harvestDirtyRings { slot, page in
                switch slot & 0xFFFF {
                case GuestLayout.framebufferSlot: fb?.add(page)
                case GuestLayout.ramSlot: ram?.add(page)
                default: break
                }
            }
            swap(&ram, &batches[0])
            swap(&fb, &batches[1])
            let t1 = DispatchTime.now().uptimeNanoseconds
            result.harvestNanos = t1 - t0
            // Reset before anyone reads page contents: a write after this is reported again.
            if result.entries > 0 {
                result.resetCount = try machine.vm.resetDirtyRings()
                if result.resetCount != result.entries { resetMismatches += 1 }
            }
            result.resetNanos = DispatchTime.now().uptimeNanoseconds - t1
        case .bitmap:
            var resetNanos: UInt64 = 0
            for slot in 0..<batches.count where batches[slot] != nil {
                let id = UInt32(slot)
                let pages = batches[slot]!.pageCount
                try slotBitmaps[slot].withUnsafeMutableBufferPointer { (words) throws(KVMError) in
                    try machine.vm.getDirtyLog(slot: id, into: words.baseAddress!)
                    let r0 = DispatchTime.now().uptimeNanoseconds
                    if manualProtect {
                        // Re-protect exactly what GET returned before reading any page.
                        try machine.vm.clearDirtyLog(slot: id, firstPage: 0, pageCount: UInt32(pages), bitmap: words.baseAddress!)
                    }
                    resetNanos += DispatchTime.now().uptimeNanoseconds - r0
                    batches[slot]!.addBitmap(UnsafeBufferPointer(words))
                }
                result.entries += batches[slot]!.count
            }
            result.resetNanos = resetNanos
            result.harvestNanos = DispatchTime.now().uptimeNanoseconds - t0 - resetNanos
        case .compare, .full:
            return result
        }
        for slot in 0..<batches.count where batches[slot] != nil {
            let batch = batches[slot]!
            result.duplicates += batch.duplicates
            result.uniquePages += batch.count
            if batch.count > 0 {
                batch.withPages { pages in
                    for c in consumers where c.wantsSlots.contains(batch.slot) { c.consume(slot: batch.slot, pages: pages) }
                }
            }
            batches[slot]!.reset()
        }
        return result
    }
}

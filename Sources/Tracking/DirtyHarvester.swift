import KVM
import Machine
import Dispatch

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
    private var batches: [UInt32: PageBatch] = [:]
    /// Batches indexed by slot id, for the per-entry hot path.
    private var batchBySlot: [PageBatch?] = [nil, nil]
    private var slotBitmaps: [UInt32: [UInt64]] = [:]
    private let manualProtect: Bool
    /// Set when `KVM_RESET_DIRTY_RINGS` reset a different number of entries than were walked.
    private(set) var resetMismatches = 0

    init(machine: Machine, mode: TrackingMode) {
        self.machine = machine
        self.mode = mode
        if case .bitmap(let m) = machine.config.dirtyLogging { manualProtect = m != 0 } else { manualProtect = false }
        let pageSize = GuestLayout.pageSize
        let slots: [(UInt32, Int)] = [
            (GuestLayout.framebufferSlot, machine.framebuffer.size / pageSize),
            (GuestLayout.ramSlot, machine.ram.size / pageSize),
        ]
        for (slot, pages) in slots where slot == GuestLayout.framebufferSlot || machine.config.logRAM {
            batches[slot] = PageBatch(slot: slot, pageCount: pages)
            batchBySlot[Int(slot)] = batches[slot]
            if mode == .bitmap { slotBitmaps[slot] = [UInt64](repeating: 0, count: (pages + 63) / 64) }
        }
    }

    func subscribe(_ consumer: DirtyPageConsumer) { consumers.append(consumer) }

    /// Harvests every vCPU's ring (or every slot's bitmap), resets, then delivers.
    func harvest() throws(KVMError) -> HarvestResult {
        var result = HarvestResult()
        let t0 = DispatchTime.now().uptimeNanoseconds
        switch mode {
        case .ring:
            for vcpu in machine.vcpus {
                result.entries += vcpu.harvestDirtyRing { slot, page in
                    let id = Int(slot & 0xFFFF)
                    if id < 2 { batchBySlot[id]?.add(page) }
                }
            }
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
            for (slot, batch) in batches {
                try slotBitmaps[slot]!.withUnsafeMutableBufferPointer { (words) throws(KVMError) in
                    try machine.vm.getDirtyLog(slot: slot, into: words.baseAddress!)
                    let r0 = DispatchTime.now().uptimeNanoseconds
                    if manualProtect {
                        // Re-protect exactly what GET returned before reading any page.
                        try machine.vm.clearDirtyLog(slot: slot, firstPage: 0, pageCount: UInt32(batch.pageCount), bitmap: words.baseAddress!)
                    }
                    resetNanos += DispatchTime.now().uptimeNanoseconds - r0
                    batch.addBitmap(UnsafeBufferPointer(words))
                    result.entries += batch.count
                }
            }
            result.resetNanos = resetNanos
            result.harvestNanos = DispatchTime.now().uptimeNanoseconds - t0 - resetNanos
        case .compare, .full:
            return result
        }
        for (slot, batch) in batches {
            result.duplicates += batch.duplicates
            result.uniquePages += batch.count
            if batch.count > 0 {
                batch.withPages { pages in
                    for c in consumers where c.wantsSlots.contains(slot) { c.consume(slot: slot, pages: pages) }
                }
            }
            batch.reset()
        }
        return result
    }
}

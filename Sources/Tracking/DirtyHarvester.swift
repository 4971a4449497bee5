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
    /// Pages the VMM itself wrote since the last harvest (counters page, boot info, ...).
    public var vmmPages = 0
    /// Count `KVM_RESET_DIRTY_RINGS` returned (ring mode).
    public var resetCount = 0
    public var harvestNanos: UInt64 = 0
    public var resetNanos: UInt64 = 0
}

/// One pass over the KVM dirty log, handed to every subscribed consumer.
///
/// Ring mode: walk each vCPU's ring from its fetch index, then `KVM_RESET_DIRTY_RINGS`,
/// and only then deliver (consumers may read page contents: reset before read).
/// Bitmap mode: `KVM_GET_DIRTY_LOG` per logged slot, then `KVM_CLEAR_DIRTY_LOG` where manual
/// protect is on, then deliver. Either way the pages the VMM wrote itself are drained from
/// the machine's write log and delivered with the rest. Callers serialize harvests and
/// subscription changes (one lock in `TrackingSession`).
final class DirtyHarvester {
    let source: LogSource
    let machine: Machine
    /// Consumers in subscription order, and for each slot id the consumers that want it.
    private var consumers: [DirtyPageConsumer] = []
    private var routes: [[DirtyPageConsumer]]
    /// Batches and `KVM_GET_DIRTY_LOG` bitmaps indexed by slot id; nil for a slot nobody
    /// logs. Arrays, not dictionaries: mutating them allocates nothing.
    private var batches: [PageBatch?]
    private var slotBitmaps: [[UInt64]]
    private let manualProtect: Bool
    /// Set when `KVM_RESET_DIRTY_RINGS` reset a different number of entries than were walked.
    private(set) var resetMismatches = 0
    /// Fault injection (0 = off): drop every n-th harvested page before delivery.
    var dropEvery = 0
    private var dropCounter = 0

    /// A harvester of `machine`'s dirty log, which it reads as its logging says (auto logs
    /// with the ring or the bitmap; a machine that logs nothing gives nothing to harvest).
    init(machine: Machine) {
        self.machine = machine
        source = LogSource(machine.config.dirtyLogging)
        if case .bitmap(let m) = machine.config.dirtyLogging { manualProtect = m != 0 } else { manualProtect = false }
        let n = machine.slots.count
        routes = Array(repeating: [], count: n)
        batches = Array(repeating: nil, count: n)
        slotBitmaps = Array(repeating: [], count: n)
    }

    /// How many consumers want slot `id`.
    func consumerCount(wanting id: UInt32) -> Int { routes[Int(id)].count }

    /// Whether some consumer wants slot `id`.
    func isWanted(slot id: UInt32) -> Bool { !routes[Int(id)].isEmpty }

    func subscribe(_ consumer: DirtyPageConsumer) {
        consumers.append(consumer)
        rebuildRoutes()
    }

    func unsubscribe(_ consumer: DirtyPageConsumer) {
        consumers.removeAll { $0 === consumer }
        rebuildRoutes()
    }

    /// Routes each slot to its consumers and keeps a batch exactly for the slots someone wants
    /// (and, in bitmap mode, a `KVM_GET_DIRTY_LOG` buffer for them).
    private func rebuildRoutes() {
        for slot in machine.slots {
            let i = Int(slot.id)
            routes[i] = consumers.filter { $0.wantsSlots.contains(slot.id) }
            if routes[i].isEmpty {
                batches[i] = nil
                slotBitmaps[i] = []
            } else if batches[i] == nil {
                batches[i] = PageBatch(slot: slot.id, pageCount: slot.pageCount)
                if source == .bitmap { slotBitmaps[i] = [UInt64](repeating: 0, count: (slot.pageCount + 63) / 64) }
            }
        }
    }

    /// Harvests every vCPU's ring (or every logged slot's bitmap), resets, adds the VMM's own
    /// writes, then delivers.
    func harvest() throws(KVMError) -> HarvestResult {
        var result = HarvestResult()
        switch source {
        case .ring: try harvestRings(into: &result)
        case .bitmap: try harvestBitmaps(into: &result)
        case .none: return result
        }
        // The VMM's own writes: recorded after they were made, so their contents are in place.
        machine.drainGuestWrites { slot, page in
            result.vmmPages += 1
            if Int(slot) < batches.count { batches[Int(slot)]?.add(page) }
        }
        if dropEvery > 0 {
            for slot in 0..<batches.count where batches[slot] != nil { batches[slot]!.dropEvery(dropEvery, counter: &dropCounter) }
        }
        deliver(counting: &result)
        return result
    }

    /// Walks every vCPU's ring into the batches, then `KVM_RESET_DIRTY_RINGS`.
    private func harvestRings(into result: inout HarvestResult) throws(KVMError) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        // Move the batches into a local for the walk: the per-entry path then touches
        // only a local array (no exclusivity checks on class storage).
        var local: [PageBatch?] = []
        swap(&local, &batches)
        result.entries = machine.harvestDirtyRings { slot, page in
            let id = Int(slot & 0xFFFF)
            if id < local.count { local[id]?.add(page) }
        }
        swap(&local, &batches)
        let t1 = DispatchTime.now().uptimeNanoseconds
        result.harvestNanos = t1 - t0
        // Reset before anyone reads page contents: a write after this is reported again.
        if result.entries > 0 {
            result.resetCount = try machine.vm.resetDirtyRings()
            if result.resetCount != result.entries { resetMismatches += 1 }
        }
        result.resetNanos = DispatchTime.now().uptimeNanoseconds - t1
    }

    /// `KVM_GET_DIRTY_LOG` of every wanted, logged slot into its batch, each followed by
    /// `KVM_CLEAR_DIRTY_LOG` of what it returned where manual protect is on.
    private func harvestBitmaps(into result: inout HarvestResult) throws(KVMError) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var resetNanos: UInt64 = 0
        for slot in 0..<batches.count where batches[slot] != nil && machine.isDirtyLogged(slot: UInt32(slot)) {
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
    }

    /// Hands each slot's batch to the consumers that want the slot, and empties it.
    private func deliver(counting result: inout HarvestResult) {
        for slot in 0..<batches.count where batches[slot] != nil {
            let batch = batches[slot]!
            result.duplicates += batch.duplicates
            result.uniquePages += batch.count
            if batch.count > 0 {
                batch.withPages { pages in
                    for c in routes[slot] { c.consume(slot: batch.slot, pages: pages) }
                }
            }
            batches[slot]!.reset()
        }
    }
}

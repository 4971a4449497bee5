import Dispatch
import KVM
import Machine
import MigrationWire

/// What has arrived of an incoming guest: each message of the stream before the hand-over,
/// checked first and then applied to the (not yet started) machine. Every number from the
/// wire is checked before it is used (a slot, a page index, a vCPU index, counts, the device
/// state's numbers), so a message that does not fit is a `MigrationError` and changes nothing
/// it should not; none can trap. No connection here: `DestinationAttempt` feeds it.
final class ArrivingGuest {
    let machine: Machine
    let verify: Bool
    private(set) var report: MigrationDestination.Report
    private var roundPages = 0
    private var roundLoadNanos: UInt64 = 0
    private var loaded = Set<Int>()
    private var device: DeviceState?
    private static let zero = [UInt8](repeating: 0, count: MigrationWire.pageSize)

    init(machine: Machine, verify: Bool, source: String) {
        self.machine = machine
        self.verify = verify
        report = MigrationDestination.Report(source: source)
    }

    /// What a message meant for the exchange.
    enum Step: Equatable {
        /// Applied; more is coming.
        case more
        /// A round ended with this many pages, written in `loadNanos`: acknowledge it.
        case roundEnded(round: UInt32, pages: UInt64, loadNanos: UInt64)
        /// Everything has arrived and was checked: the destination can say ready.
        case complete
    }

    /// Checks and applies one message of the stream before `ready`.
    func apply(_ m: MigrationMessage) throws(MigrationError) -> Step {
        switch m {
        case .pages(let slotID, let pages): try write(pages, slot: slotID)
        case .roundEnd(let round, let n): return try endRound(round, claimed: n)
        case .vcpuState(let index, let bytes): try loadVCPU(index, bytes)
        case .deviceState(let d): try restore(d)
        case .digests(let slotID, let list): try check(list, slot: slotID)
        case .complete: try checkComplete(); return .complete
        default: throw .protocolError("unexpected \(m.name) message")
        }
        return .more
    }

    private func restore(_ d: DeviceState) throws(MigrationError) {
        guard device == nil else { throw .protocolError("a second device state") }
        let state = try d.machineState(vcpuCount: machine.vcpuCount)
        // The waiting input goes in at start(), after the ring's page has arrived.
        do { try machine.restore(state) } catch { throw .protocolError("\(error)") }
        device = d
    }

    private func slot(_ id: UInt32, for what: String) throws(MigrationError) -> MemorySlot {
        guard let slot = machine.slots.first(where: { $0.id == id }) else {
            throw .protocolError("\(what) for slot \(id), which this machine does not have")
        }
        return slot
    }

    private func write(_ pages: [PageRecord], slot slotID: UInt32) throws(MigrationError) {
        let slot = try slot(slotID, for: "pages")
        let t0 = DispatchTime.now().uptimeNanoseconds
        for p in pages {
            guard p.page < UInt64(slot.pageCount) else {
                throw .protocolError("page \(p.page) is outside slot \(slotID) (\(slot.pageCount) pages)")
            }
            let gpa = slot.guestPhysicalAddress + p.page * UInt64(MigrationWire.pageSize)
            (p.data ?? Self.zero).withUnsafeBytes { machine.writeGuest($0, at: gpa) }
        }
        roundLoadNanos &+= DispatchTime.now().uptimeNanoseconds - t0
        roundPages += pages.count
        report.pages += pages.count
    }

    private func endRound(_ round: UInt32, claimed n: UInt64) throws(MigrationError) -> Step {
        guard n == UInt64(roundPages) else { throw .protocolError("round \(round) claims \(n) pages but \(roundPages) arrived") }
        defer { roundPages = 0; roundLoadNanos = 0 }
        report.rounds += 1
        return .roundEnded(round: round, pages: n, loadNanos: roundLoadNanos)
    }

    private func loadVCPU(_ index: UInt32, _ bytes: [UInt8]) throws(MigrationError) {
        guard index < UInt32(machine.vcpuCount) else { throw .protocolError("state for vCPU \(index), but the machine has \(machine.vcpuCount)") }
        let i = Int(index)
        guard !loaded.contains(i) else { throw .protocolError("a second state for vCPU \(index)") }
        do {
            try machine.vcpu(i).loadState(try VCPUState(decoding: bytes))
        } catch {
            throw .protocolError("vCPU \(index)'s state: \(error)")
        }
        loaded.insert(i)
    }

    private func check(_ list: [PageDigestRecord], slot slotID: UInt32) throws(MigrationError) {
        let slot = try slot(slotID, for: "digests")
        for d in list {
            guard d.page < UInt64(slot.pageCount) else { throw .protocolError("a digest for page \(d.page) outside slot \(slotID)") }
            // SAFETY: d.page < slot.pageCount, so the page lies inside the slot's mapping.
            let raw = UnsafeRawBufferPointer(start: slot.memory.base + Int(d.page) * MigrationWire.pageSize, count: MigrationWire.pageSize)
            guard PageDigest.of(raw) == d.digest else { throw .verification("\(slot.name) page \(d.page) differs from the source's") }
            report.verifiedPages += 1
        }
    }

    /// Everything a start needs has arrived: every vCPU's state and the device state (and
    /// the digests, when the source promised them).
    private func checkComplete() throws(MigrationError) {
        guard loaded.count == machine.vcpuCount else {
            throw .protocolError("complete with \(loaded.count) of \(machine.vcpuCount) vCPU states")
        }
        guard device != nil else { throw .protocolError("complete without the device state") }
        if verify && report.verifiedPages == 0 && report.pages > 0 {
            throw .verification("the source asked for verification but sent no digests")
        }
    }
}

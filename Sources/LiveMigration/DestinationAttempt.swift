import Dispatch
import KVM
import Machine
import MigrationWire
import Tracking

/// The destination after it accepted the config: applies each message of the stream to the
/// machine, checking it first, until the source commits and the guest starts here. A
/// message that does not fit ends the attempt; the source is told why.
final class DestinationAttempt {
    let machine: Machine
    let connection: MigrationConnection
    let verify: Bool
    let progress: @Sendable (String) -> Void
    private var report: MigrationDestination.Report
    private var roundPages = 0
    private var loaded = Set<Int>()
    private var device: DeviceState?
    private static let zero = [UInt8](repeating: 0, count: MigrationWire.pageSize)

    init(session: TrackingSession, connection: MigrationConnection, verify: Bool, progress: @escaping @Sendable (String) -> Void) {
        machine = session.machine
        self.connection = connection
        self.verify = verify
        self.progress = progress
        report = MigrationDestination.Report(source: connection.peer)
    }

    /// A message that does not fit: the source is told before the attempt ends.
    private struct GiveUp: Error {
        let error: MigrationError
        init(_ error: MigrationError) { self.error = error }
    }

    /// Applies messages until the guest has started here.
    func run() async throws -> MigrationDestination.Report {
        while true {
            let m = try await connection.expect()
            do {
                if try await apply(m) { return report }
            } catch let g as GiveUp {
                try? await connection.send(.abort("the destination gave up: \(g.error)"))
                throw g.error
            }
        }
    }

    /// One message; true once the guest has started.
    private func apply(_ m: MigrationMessage) async throws -> Bool {
        switch m {
        case .pages(let slotID, let pages): try write(pages, slot: slotID)
        case .roundEnd(let round, let n): try endRound(round, claimed: n)
        case .vcpuState(let index, let bytes): try loadVCPU(index, bytes)
        case .deviceState(let d): try restore(d)
        case .digests(let slotID, let list): try check(list, slot: slotID)
        case .complete: try await complete(); return true
        default: throw GiveUp(.protocolError("unexpected \(m.name) message"))
        }
        return false
    }

    private func restore(_ d: DeviceState) throws(GiveUp) {
        let state: MachineDeviceState
        do { state = try d.machineState(vcpuCount: machine.vcpuCount) } catch { throw GiveUp(error) }
        // The waiting input goes in at start(), after the ring's page has arrived.
        do { try machine.restore(state) } catch { throw GiveUp(.protocolError("\(error)")) }
        device = d
    }

    private func slot(_ id: UInt32, for what: String) throws(GiveUp) -> MemorySlot {
        guard let slot = machine.slots.first(where: { $0.id == id }) else {
            throw GiveUp(.protocolError("\(what) for slot \(id), which this machine does not have"))
        }
        return slot
    }

    private func write(_ pages: [PageRecord], slot slotID: UInt32) throws(GiveUp) {
        let slot = try slot(slotID, for: "pages")
        for p in pages {
            guard p.page < UInt64(slot.pageCount) else {
                throw GiveUp(.protocolError("page \(p.page) is outside slot \(slotID) (\(slot.pageCount) pages)"))
            }
            let gpa = slot.guestPhysicalAddress + p.page * UInt64(MigrationWire.pageSize)
            (p.data ?? Self.zero).withUnsafeBytes { machine.writeGuest($0, at: gpa) }
        }
        roundPages += pages.count
        report.pages += pages.count
    }

    private func endRound(_ round: UInt32, claimed n: UInt64) throws(GiveUp) {
        guard n == UInt64(roundPages) else { throw GiveUp(.protocolError("round \(round) claims \(n) pages but \(roundPages) arrived")) }
        progress("migration round \(round): \(n) pages received")
        roundPages = 0
        report.rounds += 1
    }

    private func loadVCPU(_ index: UInt32, _ bytes: [UInt8]) throws(GiveUp) {
        let i = Int(index)
        guard i < machine.vcpuCount else { throw GiveUp(.protocolError("state for vCPU \(index), but the machine has \(machine.vcpuCount)")) }
        guard !loaded.contains(i) else { throw GiveUp(.protocolError("a second state for vCPU \(index)")) }
        do {
            try machine.vcpu(i).loadState(try VCPUState(decoding: bytes))
        } catch {
            throw GiveUp(.protocolError("vCPU \(index)'s state: \(error)"))
        }
        loaded.insert(i)
    }

    private func check(_ list: [PageDigestRecord], slot slotID: UInt32) throws(GiveUp) {
        let slot = try slot(slotID, for: "digests")
        for d in list {
            guard d.page < UInt64(slot.pageCount) else { throw GiveUp(.protocolError("a digest for page \(d.page) outside slot \(slotID)")) }
            // SAFETY: d.page < slot.pageCount, so the page lies inside the slot's mapping.
            let raw = UnsafeRawBufferPointer(start: slot.memory.base + Int(d.page) * MigrationWire.pageSize, count: MigrationWire.pageSize)
            guard PageDigest.of(raw) == d.digest else { throw GiveUp(.verification("\(slot.name) page \(d.page) differs from the source's")) }
            report.verifiedPages += 1
        }
    }

    /// Everything has arrived: say ready, and start the guest when the source commits.
    private func complete() async throws {
        guard loaded.count == machine.vcpuCount else {
            throw GiveUp(.protocolError("complete with \(loaded.count) of \(machine.vcpuCount) vCPU states"))
        }
        guard device != nil else { throw GiveUp(.protocolError("complete without the device state")) }
        if verify && report.verifiedPages == 0 && report.pages > 0 {
            throw GiveUp(.verification("the source asked for verification but sent no digests"))
        }
        try await connection.send(.ready)
        guard case .commit(let pausedNanos) = try await connection.expect() else {
            throw MigrationError.protocolError("expected commit after ready") // the source is not waiting for an abort now
        }
        let commitAt = DispatchTime.now().uptimeNanoseconds
        machine.start()
        let startedAt = DispatchTime.now().uptimeNanoseconds
        report.downtimeSeconds = Double(pausedNanos + (startedAt - commitAt)) / 1e9
        try? await connection.send(.started)
    }
}

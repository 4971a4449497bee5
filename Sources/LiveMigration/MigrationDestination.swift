import Dispatch
import Foundation
import Input
import KVM
import Machine
import MigrationWire
import Tracking

/// The receiving side: accepts one source, builds the machine its config describes (through
/// `build`, so the caller chooses tracking and display), writes every page it is sent into
/// guest memory through the tracked write API (so the display shows the guest as it
/// arrives), loads each vCPU's state and the device state, checks digests when asked, and
/// starts the guest when the source commits. Everything is validated: a bad message ends
/// the attempt with one line, and nothing is written outside guest memory.
public enum MigrationDestination {
    public struct Report: Sendable {
        public var source: String
        public var pages = 0
        public var rounds = 0
        public var bytes = 0
        public var seconds = 0.0
        /// The source's pause to this side's first `KVM_RUN` (the source's part, as it said,
        /// plus the time here from its commit to starting the vCPUs).
        public var downtimeSeconds = 0.0
        public var verifiedPages = 0
    }

    /// Listens on `host:port`, migrates one guest in and returns its running session.
    /// `listening(port)` is called once the socket is bound; `build` makes the session from
    /// the config (an `incoming` TrackingSession, not started).
    public static func receive(host: String, port: Int, timeout: Double = 30,
                               listening: @escaping @Sendable (Int) -> Void,
                               build: @escaping @Sendable (MigrationConfig, GuestImage) throws -> TrackingSession,
                               progress: @escaping @Sendable (String) -> Void) throws -> (TrackingSession, Report) {
        let box = ResultBox<(TrackingSession, Report)>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let r = try await MigrationListener.acceptOne(host: host, port: port, timeout: timeout, listening: listening) { c in
                    try await run(c, build: build, progress: progress)
                }
                box.set(.success(r))
            } catch {
                box.set(.failure(error))
            }
            done.signal()
        }
        done.wait()
        return try box.get()
    }

    private static func run(_ c: MigrationConnection, build: (MigrationConfig, GuestImage) throws -> TrackingSession,
                            progress: (String) -> Void) async throws -> (TrackingSession, Report) {
        var report = Report(source: c.peer)
        let start = DispatchTime.now().uptimeNanoseconds
        guard case .hello(let v, _) = try await MigrationSource.expect(c) else { throw MigrationError.protocolError("the source did not say hello first") }
        try await c.send(.hello(version: MigrationWire.version, capabilities: 0))
        guard v == MigrationWire.version else { throw MigrationError.refused("the source speaks protocol version \(v), this destination \(MigrationWire.version)") }
        guard case .config(let config) = try await MigrationSource.expect(c) else { throw MigrationError.protocolError("expected the config") }
        let session: TrackingSession
        do {
            guard config.image.withUnsafeBytes({ PageDigest.of($0) }) == config.imageDigest else {
                throw MigrationError.refused("the guest image's digest does not match its bytes")
            }
            let image = try GuestImage(bytes: config.image, path: "migrated:\(config.imageName)", name: config.imageName)
            session = try build(config, image)
        } catch {
            try? await c.send(.abort("the destination refused the config: \(error)"))
            throw MigrationError.refused("\(error)")
        }
        let machine = session.machine
        try await c.send(.accepted)
        progress("migration from \(c.peer): \(config.imageName) at \(config.width)x\(config.height), \(config.cpus) vCPU(s), \(config.ramBytes >> 20) MiB")

        var roundPages = 0
        var loaded = Set<Int>()
        var device: DeviceState?
        let zero = [UInt8](repeating: 0, count: MigrationWire.pageSize)
        func fail(_ e: MigrationError) async -> MigrationError {
            try? await c.send(.abort("the destination gave up: \(e)"))
            return e
        }
        loop: while true {
            let m = try await MigrationSource.expect(c)
            switch m {
            case .pages(let slotID, let pages):
                guard let slot = machine.slots.first(where: { $0.id == slotID }) else {
                    throw await fail(.protocolError("pages for slot \(slotID), which this machine does not have"))
                }
                for p in pages {
                    guard p.page < UInt64(slot.pageCount) else {
                        throw await fail(.protocolError("page \(p.page) is outside slot \(slotID) (\(slot.pageCount) pages)"))
                    }
                    let gpa = slot.guestPhysicalAddress + p.page * UInt64(MigrationWire.pageSize)
                    (p.data ?? zero).withUnsafeBytes { machine.writeGuest($0, at: gpa) }
                }
                roundPages += pages.count
                report.pages += pages.count
            case .roundEnd(let round, let n):
                guard n == UInt64(roundPages) else {
                    throw await fail(.protocolError("round \(round) claims \(n) pages but \(roundPages) arrived"))
                }
                progress("migration round \(round): \(n) pages received")
                roundPages = 0
                report.rounds += 1
            case .vcpuState(let index, let bytes):
                let i = Int(index)
                guard i < machine.vcpuCount else { throw await fail(.protocolError("state for vCPU \(index), but the machine has \(machine.vcpuCount)")) }
                guard !loaded.contains(i) else { throw await fail(.protocolError("a second state for vCPU \(index)")) }
                do {
                    try machine.vcpu(i).loadState(try VCPUState(decoding: bytes))
                } catch {
                    throw await fail(.protocolError("vCPU \(index)'s state: \(error)"))
                }
                loaded.insert(i)
            case .deviceState(let d):
                guard d.frames.count == machine.vcpuCount else {
                    throw await fail(.protocolError("\(d.frames.count) frame counters for \(machine.vcpuCount) vCPUs"))
                }
                var state = MachineDeviceState(frameCounts: d.frames.map { Int(clamping: $0) }, uptimeNanos: d.uptimeNanos,
                                               consoleUnfinished: d.consoleUnfinished)
                for (i, e) in d.waitingInput.enumerated() {
                    guard let event = GuestInputQueue.event(type: e.type, code: e.code, value: e.value, x: e.x, y: e.y) else {
                        throw await fail(.protocolError("waiting input event \(i) is not an event (type \(e.type), code \(e.code), value \(e.value))"))
                    }
                    state.inputWaiting.append(event)
                }
                if d.modeWidth != 0 || d.modeHeight != 0 {
                    state.displayMode = DisplayMode(width: Int(d.modeWidth), height: Int(d.modeHeight), pitch: Int(d.modePitch))
                }
                // The waiting input goes in at start(), after the ring's page has arrived.
                do { try machine.restore(state) } catch { throw await fail(.protocolError("\(error)")) }
                device = d
            case .digests(let slotID, let list):
                guard let slot = machine.slots.first(where: { $0.id == slotID }) else {
                    throw await fail(.protocolError("digests for slot \(slotID), which this machine does not have"))
                }
                for d in list {
                    guard d.page < UInt64(slot.pageCount) else { throw await fail(.protocolError("a digest for page \(d.page) outside slot \(slotID)")) }
                    let raw = UnsafeRawBufferPointer(start: slot.memory.base + Int(d.page) * MigrationWire.pageSize, count: MigrationWire.pageSize)
                    guard PageDigest.of(raw) == d.digest else {
                        throw await fail(.verification("\(slot.name) page \(d.page) differs from the source's"))
                    }
                    report.verifiedPages += 1
                }
            case .complete:
                guard loaded.count == machine.vcpuCount else {
                    throw await fail(.protocolError("complete with \(loaded.count) of \(machine.vcpuCount) vCPU states"))
                }
                guard device != nil else { throw await fail(.protocolError("complete without the device state")) }
                if config.verify && report.verifiedPages == 0 && report.pages > 0 {
                    throw await fail(.verification("the source asked for verification but sent no digests"))
                }
                try await c.send(.ready)
                guard case .commit(let pausedNanos) = try await MigrationSource.expect(c) else {
                    throw MigrationError.protocolError("expected commit after ready")
                }
                let commitAt = DispatchTime.now().uptimeNanoseconds
                machine.start()
                let startedAt = DispatchTime.now().uptimeNanoseconds
                report.downtimeSeconds = Double(pausedNanos + (startedAt - commitAt)) / 1e9
                try? await c.send(.started)
                break loop
            default:
                throw await fail(.protocolError("unexpected \(m.name) message"))
            }
        }
        report.bytes = c.bytesReceived
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (session, report)
    }
}

import Dispatch
import Foundation
import KVM
import Machine
import MigrationWire
import Tracking
#if canImport(Glibc)
import Glibc
#endif

/// How a source migrates.
public struct MigrationOptions: Sendable {
    /// Converge when the pages left can be sent within this at the bandwidth seen so far.
    public var maxDowntimeSeconds = 0.3
    /// Bytes per second at most (nil: as fast as the connection goes).
    public var maxBandwidth: Double?
    /// Pre-copy rounds at most before stopping the guest regardless.
    public var maxRounds = 30
    /// Send a digest of every page before completing; the destination refuses to resume on
    /// any difference.
    public var verify = false
    /// Seconds without a message from the other side before giving up.
    public var timeout = 30.0
    public init() {}
}

/// What happened, for `--stats` and the summary.
public struct MigrationReport: Sendable {
    public struct Round: Sendable {
        public var number: Int
        public var pages: Int
        public var bytes: Int
        public var seconds: Double
        /// Taking the round's page set: a sync (harvest and reset) plus the hand-over of the set.
        /// With the ring this follows what was dirtied; with the bitmap it walks all of RAM.
        public var syncSeconds: Double = 0
    }
    public var rounds: [Round] = []
    /// Pages and bytes sent while the guest was paused (the last round).
    public var finalPages = 0
    public var totalBytes = 0
    public var seconds = 0.0
    /// Source: from pausing the vCPUs to the destination's `started`.
    public var downtimeSeconds = 0.0
    /// Whether pre-copy converged (a report is returned only when it did: otherwise the
    /// migration is abandoned with `MigrationError.didNotConverge`).
    public var converged = false
    /// Where the downtime went, in order: (phase, seconds) from the pause to `started`.
    public var handOver: [(phase: String, seconds: Double)] = []
    /// `handOver` as one line of milliseconds.
    public var handOverLine: String {
        handOver.map { String(format: "%@ %.2f", $0.phase, $0.seconds * 1000) }.joined(separator: ", ")
    }
    public var bandwidth: Double { seconds > 0 ? Double(totalBytes) / seconds : 0 }
}

/// Pre-copy from the dirty list: round 0 sends every non-zero page, each next round syncs,
/// takes the migration subscriber's set and sends only those pages while the guest runs and
/// the display keeps repainting from the same harvests. When the rest fits the downtime
/// budget (or rounds run out), the vCPUs are paused for the last set, their state and the
/// device state; the source stops only after the destination confirms it can resume.
/// Any failure before that resumes the guest here: it never notices.
public enum MigrationSource {
    static let pagesPerMessage = 256

    /// Migrates `session`'s guest to `host:port`. On success the machine is stopped (the guest
    /// runs at the destination); on failure it runs on here, and the error says why.
    /// `imageBytes` is the image file's contents when it has no file of its own (a guest that
    /// was itself migrated in); otherwise the file at `image.path` is read, before connecting.
    public static func migrate(_ session: TrackingSession, host: String, port: Int, image: GuestImage, imageBytes: [UInt8]? = nil,
                               options: MigrationOptions, progress: @escaping @Sendable (String) -> Void) throws -> MigrationReport {
        let bytes = try imageBytes ?? readImage(image)
        let box = ResultBox<MigrationReport>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let conn = try await MigrationConnection.connect(host: host, port: port, timeout: options.timeout)
                let report = try await conn.run { c in try await run(session, c, image: image, bytes: bytes, options: options, progress: progress) }
                box.set(.success(report))
            } catch {
                box.set(.failure(error))
            }
            done.signal()
        }
        done.wait()
        return try box.get()
    }

    /// The guest image file, to send in the config so the destination needs no copy of its own.
    private static func readImage(_ image: GuestImage) throws -> [UInt8] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: image.path)) } catch {
            throw MigrationError.refused("cannot read the guest image \(image.path) to send it: \(error.localizedDescription)")
        }
        guard data.count <= MigrationWire.maxImageBytes else { throw MigrationError.refused("the guest image is larger than \(MigrationWire.maxImageBytes >> 20) MiB") }
        return [UInt8](data)
    }

    private static func run(_ session: TrackingSession, _ c: MigrationConnection, image: GuestImage, bytes: [UInt8], options: MigrationOptions,
                            progress: @Sendable (String) -> Void) async throws -> MigrationReport {
        let machine = session.machine
        let cfg = machine.config
        try await c.send(.hello(version: MigrationWire.version, capabilities: 0))
        guard case .hello(let v, _) = try await expect(c) else { throw MigrationError.protocolError("the destination did not say hello") }
        guard v == MigrationWire.version else { throw MigrationError.refused("the destination speaks protocol version \(v), this source \(MigrationWire.version)") }
        // The destination builds its machine config around the same image file, in the mode
        // the guest has now and with a framebuffer slot of the same size.
        let mode = machine.displayMode.mode
        var config = MigrationConfig(
            imageName: image.name, image: bytes, imageDigest: bytes.withUnsafeBytes { PageDigest.of($0) }, arguments: cfg.arguments,
            ramBytes: cfg.ramBytes, cpus: UInt32(cfg.cpus), width: UInt32(mode.width), height: UInt32(mode.height),
            pitch: UInt32(mode.pitch), guestHz: cfg.guestHz, tracking: session.plan.mode.rawValue,
            ringEntries: { if case .ring(let n, _) = session.plan.logging { return UInt32(n) }; return 0 }(), tileWidth: UInt32(session.display.grid.tile.width),
            tileHeight: UInt32(session.display.grid.tile.height), verify: options.verify)
        config.maxWidth = UInt32(cfg.maxModeSize.width); config.maxHeight = UInt32(cfg.maxModeSize.height)
        try await c.send(.config(config))
        guard case .accepted = try await expect(c) else { throw MigrationError.protocolError("the destination did not accept the config") }

        let sub: MigrationSubscriber
        do { sub = try session.subscribeMigration() } catch { throw MigrationError.tracking("\(error)") }
        var taken: MigrationPageSet?
        var paused = false
        var report = MigrationReport()
        let start = DispatchTime.now().uptimeNanoseconds
        var sentEver = MigrationPageSet(pageCounts: machine.slots.map { ($0.id, $0.pageCount) })
        do {
            var round = 0
            while true {
                try stillRunning(machine)
                let tTake = DispatchTime.now().uptimeNanoseconds
                let set = try session.take(sub)
                taken = set
                let t0 = DispatchTime.now().uptimeNanoseconds
                let (pages, sent) = try await sendSet(set, machine: machine, c: c, skipZero: round == 0, sentEver: &sentEver, options: options, start: start)
                try await c.send(.roundEnd(round: UInt32(round), pages: UInt64(pages)))
                taken = nil
                let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                report.rounds.append(.init(number: round, pages: pages, bytes: sent, seconds: secs, syncSeconds: Double(t0 - tTake) / 1e9))
                report.totalBytes = c.bytesSent
                report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                round += 1
                let left = session.pendingPages(of: sub).pages.total
                let expected = Double(left * (MigrationWire.pageSize + 9)) / max(report.bandwidth, 1)
                progress(String(format: "migration round %d: %d pages, %.1f MiB in %.3f s; %.0f MiB/s; %d pages dirty, expected downtime %.1f ms",
                                round - 1, pages, Double(sent) / 1048576, secs, report.bandwidth / 1048576, left, expected * 1000))
                if expected <= options.maxDowntimeSeconds { report.converged = true; break }
                if round >= options.maxRounds {
                    // Stopping now would overrun the budget: abandon instead, as QEMU keeps
                    // iterating rather than pausing a guest longer than it was told to.
                    throw MigrationError.didNotConverge(rounds: round, pagesLeft: left, expectedMs: expected * 1000,
                                                        budgetMs: options.maxDowntimeSeconds * 1000, bytesPerSecond: report.bandwidth)
                }
            }
            // Stop the guest for the last set, then its state.
            let pauseStart = DispatchTime.now().uptimeNanoseconds
            var mark = pauseStart
            func phase(_ name: String) {
                let now = DispatchTime.now().uptimeNanoseconds
                report.handOver.append((name, Double(now - mark) / 1e9))
                mark = now
            }
            machine.pause()
            paused = true
            phase("pause")
            // From the last take to the hand-over, input waits in the VMM (no write to a page
            // already sent) and goes over in the device state.
            machine.input.setHeld(true)
            let last = try session.take(sub)
            phase("sync")
            let lastSync = report.handOver[report.handOver.count - 1].seconds
            taken = last
            let (pages, sent) = try await sendSet(last, machine: machine, c: c, skipZero: false, sentEver: &sentEver, options: options, start: start)
            try await c.send(.roundEnd(round: UInt32(report.rounds.count), pages: UInt64(pages)))
            report.finalPages = pages
            report.rounds.append(.init(number: report.rounds.count, pages: pages, bytes: sent, seconds: 0, syncSeconds: lastSync))
            phase("last set")
            for i in 0..<machine.vcpuCount {
                let state: VCPUState
                do { state = try machine.vcpu(i).saveState() } catch { throw MigrationError.tracking("vCPU \(i): \(error)") }
                try await c.send(.vcpuState(index: UInt32(i), state: state.encode()))
            }
            let waiting = machine.input.waitingEvents.prefix(MigrationWire.maxWaitingInput).map { e in
                let f = GuestInputQueue.abiFields(e)
                return WaitingInputEvent(type: f.type, code: f.code, value: f.value, x: f.x, y: f.y)
            }
            var device = DeviceState(frames: machine.frameCounts.map { UInt64($0) }, uptimeNanos: machine.uptimeNanos, waitingInput: waiting)
            device.consoleUnfinished = machine.consoleUnfinished.map { Array(($0 ?? "").utf8.prefix(MigrationWire.maxConsoleBytes)) }
            let mode = machine.displayMode.mode // the guest may have set a mode during the pre-copy
            (device.modeWidth, device.modeHeight, device.modePitch) = (UInt32(mode.width), UInt32(mode.height), UInt32(mode.pitch))
            try await c.send(.deviceState(device))
            phase("vCPU and device state")
            if options.verify {
                try await sendDigests(sentEver, machine: machine, c: c)
                phase("digests")
            }
            try await c.send(.complete)
            guard case .ready = try await expect(c) else { throw MigrationError.protocolError("the destination did not confirm it is ready") }
            phase("ready")
            try stillRunning(machine)
            // From here the destination may run the guest: this side must not resume it.
            try await c.send(.commit(pausedNanos: DispatchTime.now().uptimeNanoseconds - pauseStart))
            taken = nil
            do {
                guard case .started = try await expect(c) else { throw MigrationError.protocolError("no 'started' after commit") }
            } catch {
                machine.stop()
                throw MigrationError.outcomeUnknown("the connection failed after the source committed (\(error)); the guest is stopped here and may be running at the destination")
            }
            phase("started")
            report.downtimeSeconds = Double(DispatchTime.now().uptimeNanoseconds - pauseStart) / 1e9
            report.totalBytes = c.bytesSent
            report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            machine.stop()
            try? session.unsubscribe(sub)
            return report
        } catch let e as MigrationError where { if case .outcomeUnknown = e { return true }; return false }() {
            throw e
        } catch {
            // Abandon: the pages in flight go back to the set, the guest carries on here.
            if let taken { session.giveBack(taken, to: sub) }
            try? await c.send(.abort("\(error)")) // the destination prefixes "the other side abandoned the migration"
            try? session.unsubscribe(sub)
            if paused {
                machine.input.setHeld(false) // what waited is delivered here after all
                machine.resume()
            }
            throw error
        }
    }

    /// Sends the pages of `set` in batches; returns pages and bytes sent. Round 0 skips zero
    /// pages (the destination's memory starts zeroed); later rounds send them as zero records.
    private static func sendSet(_ set: MigrationPageSet, machine: Machine, c: MigrationConnection, skipZero: Bool,
                                sentEver: inout MigrationPageSet, options: MigrationOptions, start: UInt64) async throws -> (Int, Int) {
        var pages = 0
        let before = c.bytesSent
        for slot in machine.slots {
            guard let list = set[slot: slot.id] else { continue }
            var batch: [UInt64] = []
            batch.reserveCapacity(pagesPerMessage)
            let resident = skipZero ? Residency(slot.memory) : nil
            var out: [UInt8] = []
            func flush() async throws {
                guard !batch.isEmpty else { return }
                out.removeAll(keepingCapacity: true)
                MigrationWire.encodePages(slot: slot.id, pages: batch, into: &out) { p in
                    let raw = UnsafeRawBufferPointer(start: slot.memory.base + Int(p) * MigrationWire.pageSize, count: MigrationWire.pageSize)
                    return isZero(raw) ? nil : raw
                }
                pages += batch.count
                batch.removeAll(keepingCapacity: true)
                try await c.sendFrames(out)
                try stillRunning(machine)
                if let limit = options.maxBandwidth {
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    let due = Double(c.bytesSent) / limit
                    if due > elapsed { try await Task.sleep(nanoseconds: UInt64((due - elapsed) * 1e9)) }
                }
            }
            var pageList: [UInt64] = []
            list.forEachPage { pageList.append($0) }
            for p in pageList {
                if let resident, !resident.contains(page: Int(p)) { continue } // never touched: zero
                if skipZero {
                    let raw = UnsafeRawBufferPointer(start: slot.memory.base + Int(p) * MigrationWire.pageSize, count: MigrationWire.pageSize)
                    if isZero(raw) { continue }
                }
                batch.append(p)
                sentEver.insert(slot: slot.id, page: p)
                if batch.count == pagesPerMessage { try await flush() }
            }
            try await flush()
        }
        return (pages, c.bytesSent - before)
    }

    /// Throws once the run here has ended (a signal, --seconds, --frames, a guest exit): the
    /// user stopped this guest, so it is not handed over. Before the commit only.
    private static func stillRunning(_ machine: Machine) throws {
        if machine.isFinished { throw MigrationError.stoppedAtSource }
    }

    private static func sendDigests(_ sent: MigrationPageSet, machine: Machine, c: MigrationConnection) async throws {
        for slot in machine.slots {
            guard let list = sent[slot: slot.id] else { continue }
            var batch: [PageDigestRecord] = []
            var pageList: [UInt64] = []
            list.forEachPage { pageList.append($0) }
            for p in pageList {
                let raw = UnsafeRawBufferPointer(start: slot.memory.base + Int(p) * MigrationWire.pageSize, count: MigrationWire.pageSize)
                batch.append(PageDigestRecord(page: p, digest: PageDigest.of(raw)))
                if batch.count == 65536 { try await c.send(.digests(slot: slot.id, batch)); batch.removeAll(keepingCapacity: true) }
            }
            if !batch.isEmpty { try await c.send(.digests(slot: slot.id, batch)) }
        }
    }

    static func expect(_ c: MigrationConnection) async throws -> MigrationMessage {
        let m = try await c.receive()
        if case .abort(let why) = m { throw MigrationError.peerAborted(why) }
        return m
    }
}

/// Whether 4096 bytes are all zero.
func isZero(_ page: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    while i < page.count {
        if page.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
        i += 8
    }
    return true
}

/// Which pages of guest memory were ever touched (`mincore`): an untouched page of the
/// anonymous mapping is zero, so round 0 need not read it (reading it would allocate it).
struct Residency {
    private var vector: [UInt8]
    init(_ memory: GuestMemory) {
        let pages = memory.size / MigrationWire.pageSize
        vector = [UInt8](repeating: 1, count: pages)
        // SAFETY: the mapping is memory.size bytes; mincore writes one byte per page into the vector.
        if mincore(memory.base, memory.size, &vector) != 0 { vector = [UInt8](repeating: 1, count: pages) }
    }
    func contains(page: Int) -> Bool { page < vector.count && vector[page] & 1 != 0 }
}

final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, Error>?
    func set(_ r: Result<T, Error>) { lock.lock(); result = r; lock.unlock() }
    func get() throws -> T {
        lock.lock(); defer { lock.unlock() }
        return try result!.get()
    }
}

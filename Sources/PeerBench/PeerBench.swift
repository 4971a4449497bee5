#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KVM
import Machine
import QEMUPeer
import Synchronization

/// `ringside bench --peer qemu`: the same guest image, geometry, pacing and client workload
/// under Ringside (`ringside run` in a process of its own) and under QEMU (behind the boot
/// stub), one after the other, cell by cell. Returns records through `record`; never prints.
public final class PeerBench: Sendable {
    public let plan: PeerBenchPlan
    let executable: String
    let installation: QEMUInstallation
    let system: KVMSystem
    private let stopRequested = Atomic<Bool>(false)
    private let version = Mutex("")
    /// QEMU's version, once a QEMU has run.
    public var qemuVersion: String { version.withLock { $0 } }

    public init(plan: PeerBenchPlan, ringsideExecutable: String, installation: QEMUInstallation, device: String = "/dev/kvm") throws {
        self.plan = plan
        executable = ringsideExecutable
        self.installation = installation
        system = try KVMSystem(path: device)
    }

    func setQEMUVersion(_ v: String) { if !v.isEmpty { version.withLock { $0 = v } } }

    /// Finishes the cell in progress and stops (from a signal handler's thread).
    public func requestStop() { stopRequested.store(true, ordering: .releasing) }
    /// Whether `requestStop()` was called.
    public var stopping: Bool { stopRequested.load(ordering: .acquiring) }

    /// What QEMU runs with in every cell (for the records and docs/bench/peers.md).
    public static let qemuSettings = "QEMU: -accel kvm,dirty-ring-size=4096 (KVM dirty ring), -cpu qemu64,-pni, -bios qboot.rom, -vga std, -display none, QEMU's VNC server (lossy off unless Tight+JPEG: lossy=on), kvm-pit.lost_tick_policy=discard, 1 vCPU"
    public static let ringsideSettings = "Ringside: ringside run --headless (tracking auto, --refresh 60), --vnc 127.0.0.1:0, 1 vCPU"

    public struct Events {
        public var progress: (String) -> Void = { _ in }
        /// A workload left out, and why (DOOM not built).
        public var skipped: (String) -> Void = { _ in }
        public var record: (PeerRecord) -> Void = { _ in }
        public var failure: (String) -> Void = { _ in }
        public init() {}
    }

    /// Runs every cell of the plan; false if a cell failed or the run was stopped.
    public func run(_ events: Events) -> Bool {
        var ok = true
        let workloads = plan.workloads.filter { w in
            guard let built = BuiltGuest.named(w.guest), !built.isBuilt else { return true }
            events.skipped("\(w.label): \(MachineError.guestNotBuilt(name: built.name, directory: built.directory, command: built.buildCommand))")
            return false
        }
        if workloads.isEmpty && !plan.workloads.isEmpty {
            events.failure("no workload left to measure")
            return false
        }
        for w in workloads {
            for (width, height) in plan.resolutions {
                if stopping { return false }
                let guest: PeerGuest
                do { guest = try makeGuest(w, width: width, height: height, hz: plan.guestHz) } catch {
                    events.failure("\(w.label): \(error)")
                    ok = false
                    continue
                }
                if plan.display { ok = runDisplayCells(guest, events) && ok }
                if plan.idle { ok = attempt("idle \(w.label) \(width)x\(height)", events) { try idleCells(guest, events) } && ok }
                if plan.speed { ok = attempt("speed \(w.label) \(width)x\(height)", events) { try speedCells(guest, events) } && ok }
            }
            if plan.migrationWorkloads.contains(w.label), let (width, height) = plan.resolutions.first {
                ok = attempt("migration \(w.label)", events) { try migrationCells(try makeGuest(w, width: width, height: height, hz: plan.guestHz), events) } && ok
            }
        }
        return ok && !stopping
    }

    func attempt(_ what: String, _ events: Events, _ body: () throws -> Void) -> Bool {
        do { try body(); return true } catch {
            if !stopping { events.failure("\(what): \(error)") }
            return false
        }
    }

    func makeGuest(_ w: PeerBenchPlan.Workload, width: Int, height: Int, hz: Double) throws -> PeerGuest {
        let image = try GuestCatalog.load(w.guest)
        var g = PeerGuest(label: w.label, imagePath: image.path, imageName: image.name, arguments: w.arguments, width: width, height: height, guestHz: hz)
        g.abiVersion = image.declaredABIVersion ?? GuestABI.undeclared
        // A built guest's data files, as `ringside run --guest NAME` passes them.
        if let built = BuiltGuest.named(w.guest) { g.modules = built.moduleFiles.map { .init(path: "\(built.directory)/\($0)", name: $0) } }
        g.leadInFrames = w.leadInFrames
        return g
    }

    func record(_ vmm: String, _ cell: String, _ g: PeerGuest) -> PeerRecord {
        PeerRecord(vmm: vmm, cell: cell, guest: g.label, width: g.width, height: g.height, guestHz: g.guestHz,
                   settings: vmm == "qemu" ? Self.qemuSettings : Self.ringsideSettings)
    }

    func startVMM(_ vmm: String, _ g: PeerGuest, vnc: Bool, lossy: Bool = false, tracking: QEMUMachine.DirtyTracking = .ring(entries: 4096), frames: Int? = nil) throws -> BenchVMM {
        if vmm == "qemu" {
            let q = try QEMUVMM(installation: installation, guest: g, vnc: vnc, lossy: lossy, tracking: tracking, frames: frames)
            setQEMUVersion(q.instance.version)
            return q
        }
        return try RingsideVMM(executable: executable, guest: g, vnc: vnc, extra: frames.map { ["--frames", "\($0)"] } ?? [])
    }

    // MARK: - display

    private func runDisplayCells(_ g: PeerGuest, _ events: Events) -> Bool {
        let frames = plan.referenceFrames(leadIn: g.leadInFrames)
        events.progress("\(g.label) \(g.width)x\(g.height): computing \(frames) reference frames")
        let references: FrameReferences
        do {
            references = try FrameReferences.compute(system: system, guest: g, frames: frames)
        } catch {
            events.failure("\(g.label): \(error)")
            return false
        }
        var ok = true
        if plan.frameCheck > 0 {
            ok = attempt("frame \(plan.frameCheck) of \(g.label)", events) { try frameCells(g, references: references, events) } && ok
        }
        for name in plan.encodings {
            guard let encoding = RFBBenchClient.Encoding(rawValue: name) else { continue }
            for vmm in ["ringside", "qemu"] {
                if stopping { return false }
                ok = attempt("\(vmm) \(g.label) \(g.width)x\(g.height) \(name)", events) {
                    events.progress("\(vmm): \(g.label) \(g.width)x\(g.height) at \(Int(g.guestHz)) Hz, \(name), one client asking continuously")
                    let vm = try startVMM(vmm, g, vnc: true, lossy: encoding == .tightJPEG)
                    defer { vm.stop() }
                    let m = try DisplayCell.measure(vm, encoding: encoding, references: encoding.lossless ? references : nil,
                                                    leadIn: g.leadInFrames, warmup: plan.warmup, seconds: plan.seconds, abandon: { self.stopping })
                    var r = record(vmm, "display", g)
                    r.encoding = name
                    r.seconds = m.seconds
                    r.updates = m.updates
                    r.updatesPerSecond = Double(m.updates) / m.seconds
                    r.bytesPerUpdate = m.updates > 0 ? Double(m.bytes) / Double(m.updates) : nil
                    r.cpuMsPerUpdate = m.updates > 0 ? m.cpuSeconds * 1000 / Double(m.updates) : nil
                    r.cpuSecondsPerSecond = m.cpuSeconds / m.seconds
                    r.client = true
                    r.peakRSSBytes = vm.peakRSS
                    r.rssBytes = vm.rss
                    if encoding.lossless {
                        r.latencyP50Ms = m.latencyMs.quantile(0.5)
                        r.latencyP99Ms = m.latencyMs.quantile(0.99)
                        r.latencySamples = m.latencyMs.count
                        r.framesInWindow = m.framesInWindow
                        r.framesNeverSeen = m.framesNeverSeen
                        r.tornUpdates = m.torn
                        if m.beyondReferences > 0 { r.note = "\(m.beyondReferences) updates past the \(references.count) reference frames, not judged" }
                    } else {
                        r.note = "lossy: pictures not compared, so no latency, unseen or torn frames"
                    }
                    events.record(r)
                } && ok
            }
        }
        return ok
    }

    /// Stops the guest at frame N (the plan's, counted after the guest's lead-in) under both
    /// VMMs and compares what each VNC server shows with the guest's own frame N (the
    /// reference computed in this process).
    private func frameCells(_ g: PeerGuest, references: FrameReferences, _ events: Events) throws {
        let n = plan.frameCheck + g.leadInFrames
        for vmm in ["ringside", "qemu"] {
            events.progress("\(vmm): \(g.label) \(g.width)x\(g.height) stopped at frame \(n), compared with the guest's frame \(n)")
            let vm = try startVMM(vmm, g, vnc: true, frames: n)
            defer { vm.stop() }
            let deadline = Date(timeIntervalSinceNow: 60)
            while (vm.ram.frames ?? 0) < UInt64(n) {
                guard Date() < deadline else { throw PeerBenchError("\(vmm) did not reach frame \(n) in 60 s") }
                usleep(10_000)
            }
            guard let port = vm.vncPort else { throw PeerBenchError("\(vmm) has no VNC server") }
            let client = try RFBBenchClient(host: "127.0.0.1", port: port, encoding: .raw)
            client.request(incremental: false)
            guard try client.readUpdate(deadline: DispatchTime.now().uptimeNanoseconds + 30_000_000_000) != nil else {
                throw PeerBenchError("\(vmm) sent no picture of frame \(n)")
            }
            var r = record(vmm, "frame", g)
            r.frame = n
            r.identical = references.frames(matching: client.pictureHash).contains(n)
            r.encoding = "Raw"
            events.record(r)
        }
    }

    // MARK: - idle and speed

    /// No client and no sink: the VMM's CPU per second while the guest runs paced.
    private func idleCells(_ g: PeerGuest, _ events: Events) throws {
        for vmm in ["ringside", "qemu"] {
            if stopping { return }
            events.progress("\(vmm): \(g.label) \(g.width)x\(g.height) with no client and no display")
            let vm = try startVMM(vmm, g, vnc: false)
            defer { vm.stop() }
            let (cpu, seconds, _) = try window(vm, leadIn: g.leadInFrames, warmup: plan.warmup)
            var r = record(vmm, "idle", g)
            r.seconds = seconds
            r.cpuSecondsPerSecond = cpu / seconds
            r.client = false
            r.peakRSSBytes = vm.peakRSS
            r.rssBytes = vm.rss
            events.record(r)
        }
    }

    /// Free-running frames per second, with no client and with one (ZRLE, asking
    /// continuously); QEMU with its dirty ring and with its dirty bitmap.
    private func speedCells(_ g: PeerGuest, _ events: Events) throws {
        var free = g
        free.guestHz = 0
        let variants: [(String, QEMUMachine.DirtyTracking, String)] = [
            ("ringside", .ring(entries: 4096), "tracking auto"), ("qemu", .ring(entries: 4096), "dirty ring 4096"), ("qemu", .bitmap, "dirty bitmap"),
        ]
        for withClient in [false, true] {
            for (vmm, tracking, label) in variants {
                if stopping { return }
                events.progress("\(vmm) (\(label)): \(g.label) \(g.width)x\(g.height) free-running, \(withClient ? "one ZRLE client" : "no client")")
                let vm = try startVMM(vmm, free, vnc: withClient, tracking: tracking)
                defer { vm.stop() }
                let client = try withClient ? vm.vncPort.map { try BusyClient(port: $0, encoding: .zrle) } : nil
                defer { client?.stop() }
                let (cpu, seconds, frames) = try window(vm, leadIn: g.leadInFrames, warmup: plan.warmup)
                client?.stop()
                var r = record(vm.vmm, "speed", free)
                r.settings += "; " + label
                r.seconds = seconds
                r.guestFPS = Double(frames) / seconds
                r.cpuSecondsPerSecond = cpu / seconds
                r.client = withClient
                r.encoding = withClient ? "ZRLE" : nil
                r.peakRSSBytes = vm.peakRSS
                r.rssBytes = vm.rss
                events.record(r)
            }
        }
    }

    /// The guest's lead-in, `warmup` seconds, then the plan's seconds: the VMM's CPU and the
    /// guest's frames over them.
    private func window(_ vm: BenchVMM, leadIn: Int, warmup: Double) throws -> (cpu: Double, seconds: Double, frames: UInt64) {
        try waitForLeadIn(vm, frames: leadIn, abandon: { self.stopping })
        usleep(UInt32(warmup * 1e6))
        guard let c0 = vm.cpuSeconds, let f0 = vm.ram.frames else { throw ended(vm) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let end = t0 + UInt64(plan.seconds * 1e9)
        while DispatchTime.now().uptimeNanoseconds < end {
            if stopping { throw PeerBenchError("interrupted") }
            usleep(20_000)
        }
        guard let c1 = vm.cpuSeconds, let f1 = vm.ram.frames else { throw ended(vm) }
        return (c1 - c0, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, f1 - f0)
    }
}

func ended(_ vm: BenchVMM) -> PeerBenchError {
    PeerBenchError("\(vm.vmm) ended early" + (vm.process.exitStatus.map { " with status \($0)" } ?? " (its guest's RAM could not be read)")
        + (vm.process.lastErrorLines.last.map { ": \($0)" } ?? ""))
}

import Foundation
import KVM
#if canImport(Glibc)
import Glibc
#endif

/// A booted guest: the VM, its RAM and framebuffer slots, and one thread per vCPU.
/// Start with `start()`, end with `stop()` or let `--frames` finish it; `wait()` returns how it ended.
public final class Machine: @unchecked Sendable {
    public let config: MachineConfig
    public let vm: VirtualMachine
    public let vcpus: [VCPU]
    public let ram: GuestMemory
    public let framebuffer: GuestMemory
    public let events: MachineEvents

    private let state = NSCondition()
    private var runners: [VCPURunner] = []
    private var paused = false
    private var stopping = false
    private var finished = 0
    private var parked = 0
    private var outcome: MachineOutcome?
    private var lockstepReleased = 0
    private var lockstepArrivals = 0
    private let bootTime = DispatchTime.now().uptimeNanoseconds

    /// Builds the VM: dirty logging as configured, RAM slot 0, framebuffer slot 1, vCPUs in
    /// long mode at CPL 3 at the image's entry point. Nothing runs until `start()`.
    public init(system: KVMSystem, config: MachineConfig, events: MachineEvents = MachineEvents()) throws(MachineError) {
        self.config = config
        self.events = events
        do {
            let vm = try system.createVM()
            // The ring must be enabled right after KVM_CREATE_VM, before any vCPU exists.
            var logging = false
            switch config.dirtyLogging {
            case .none: break
            case .ring(let entries, let acqRel):
                try vm.enableDirtyRing(bytes: entries * HostCapabilities.ringEntryBytes, acquireRelease: acqRel)
                logging = true
            case .bitmap(let manual):
                if manual != 0 { try vm.enableManualDirtyLogProtect(flags: manual) }
                logging = true
            }
            ram = try GuestMemory(size: Int(config.ramBytes), name: "guest RAM")
            framebuffer = try GuestMemory(size: config.framebufferSlotBytes, name: "framebuffer")
            BootSetup.load(config.image, into: ram)
            BootSetup.writeTables(ram: ram, config: config)
            try vm.setMemoryRegion(slot: GuestLayout.ramSlot, guestPhysicalAddress: 0, memory: ram, logDirtyPages: logging && config.logRAM)
            try vm.setMemoryRegion(slot: GuestLayout.framebufferSlot, guestPhysicalAddress: GuestLayout.framebuffer,
                                   memory: framebuffer, logDirtyPages: logging)
            var cpus: [VCPU] = []
            for i in 0..<config.cpus {
                let v = try vm.createVCPU(index: i)
                try BootSetup.enterUserMode(v, entry: config.image.entry)
                cpus.append(v)
            }
            self.vm = vm
            vcpus = cpus
        } catch {
            throw .kvm(error)
        }
        runners = vcpus.map { VCPURunner(vcpu: $0) }
    }

    /// Starts one thread per vCPU.
    public func start() {
        Self.installKickSignal()
        for r in runners {
            let t = Thread { [self] in self.runLoop(r) }
            t.name = "vcpu\(r.vcpu.index)"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Asks every vCPU to stop (they leave `KVM_RUN` at once); `wait()` then returns `.stopped`
    /// unless something else ended the run first.
    public func stop() {
        state.lock()
        finish(with: .stopped)
        state.unlock()
    }

    /// Blocks until every vCPU thread has ended.
    @discardableResult
    public func wait() -> MachineOutcome {
        state.lock()
        defer { state.unlock() }
        while finished < runners.count { state.wait() }
        return outcome ?? .stopped
    }

    /// Waits at most `seconds`; `nil` if vCPUs are still running.
    public func wait(seconds: Double) -> MachineOutcome? {
        let deadline = Date(timeIntervalSinceNow: seconds)
        state.lock()
        defer { state.unlock() }
        while finished < runners.count { if !state.wait(until: deadline) { break } }
        return finished == runners.count ? (outcome ?? .stopped) : nil
    }

    /// How the run ended, once every vCPU thread has ended; nil while any still runs.
    public var finishedOutcome: MachineOutcome? {
        state.lock(); defer { state.unlock() }
        return finished == runners.count ? (outcome ?? .stopped) : nil
    }

    public var isFinished: Bool {
        state.lock(); defer { state.unlock() }
        return finished == runners.count
    }

    /// Takes every vCPU out of guest mode and holds it until `resume()`. When this returns,
    /// no vCPU writes guest memory.
    public func pause() {
        state.lock()
        paused = true
        kickAll()
        while parked + finished < runners.count { state.wait() }
        state.unlock()
    }

    public func resume() {
        state.lock()
        paused = false
        state.broadcast()
        state.unlock()
    }

    /// Frames vCPU `cpu` has completed (doorbells seen).
    public func framesCompleted(cpu: Int) -> Int {
        state.lock(); defer { state.unlock() }
        return runners[cpu].frames
    }

    /// Frames each vCPU has completed, read together.
    public var frameCounts: [Int] {
        state.lock(); defer { state.unlock() }
        return runners.map(\.frames)
    }

    /// The last frame every vCPU has completed: the frame the framebuffer wholly shows once
    /// the vCPUs are held.
    public var framesCompletedByEveryVCPU: Int { frameCounts.min() ?? 0 }

    /// The last complete console line of any vCPU.
    public var lastConsoleLine: String? {
        state.lock(); defer { state.unlock() }
        return runners.compactMap { $0.console.lastLine }.last
    }

    // MARK: - vCPU threads

    private func runLoop(_ r: VCPURunner) {
        let vcpu = r.vcpu
        state.lock(); r.thread = pthread_self(); state.unlock()
        var deadline = DispatchTime.now().uptimeNanoseconds
        let period = config.guestHz > 0 ? UInt64(1e9 / config.guestHz) : 0
        loop: while true {
            state.lock()
            while paused && !stopping {
                parked += 1
                state.broadcast()
                state.wait()
                parked -= 1
            }
            if stopping { state.unlock(); break }
            // Cleared under the lock: a pause/stop that sets it later still kicks this entry.
            vcpu.setImmediateExit(false)
            r.inGuest = true
            state.unlock()

            let exit: VCPUExit
            do {
                exit = try vcpu.runOnce()
            } catch {
                state.lock(); r.inGuest = false
                finish(with: .failed(error)); state.unlock()
                break
            }
            state.lock(); r.inGuest = false; state.unlock()

            switch exit {
            case .interrupted, .portIn:
                continue
            case .dirtyRingFull:
                do {
                    if let handler = events.dirtyRingFull {
                        try handler(vcpu.index)
                    } else {
                        _ = vcpu.harvestDirtyRing { _, _ in }
                        _ = try vm.resetDirtyRings()
                    }
                } catch {
                    state.lock(); finish(with: .failed(error)); state.unlock()
                    break loop
                }
            case .portOut(let port, _, let value):
                switch port {
                case GuestLayout.Port.debugConsole:
                    state.lock()
                    let line = r.console.put(UInt8(truncatingIfNeeded: value))
                    state.unlock()
                    if let line { events.consoleLine?(vcpu.index, line) }
                case GuestLayout.Port.exit:
                    state.lock(); finish(with: .guestExit(status: value)); state.unlock()
                    break loop
                case GuestLayout.Port.frameDoorbell:
                    state.lock()
                    r.frames += 1
                    let frame = r.frames
                    state.unlock()
                    publishCounters(cpu: vcpu.index, frames: frame, tick: period > 0 ? (DispatchTime.now().uptimeNanoseconds - bootTime) / period : 0)
                    events.frameDone?(vcpu.index, frame)
                    if config.lockstep { meetAtDoorbell(frame: frame) }
                    if let limit = config.frameLimit, frame >= limit { break loop }
                    if period > 0 { holdUntilNextTick(&deadline, period: period) }
                default:
                    continue // writes to other ports go nowhere, as on an empty bus
                }
            default:
                let rip = try? vcpu.registers().rip
                state.lock()
                let last = r.console.lastLine ?? r.console.unfinished
                finish(with: .crashed(GuestCrash(cpu: vcpu.index, exit: exit, rip: rip, lastConsoleLine: last)))
                state.unlock()
                break loop
            }
        }
        state.lock()
        finished += 1
        if finished == runners.count, outcome == nil { outcome = config.frameLimit != nil ? .framesCompleted : .stopped }
        state.broadcast()
        state.unlock()
    }

    /// Lockstep: wait until every vCPU has rung doorbell `frame`; the last to arrive runs
    /// `allFramesDone` while the others wait (they count as parked: out of guest mode).
    private func meetAtDoorbell(frame: Int) {
        state.lock()
        // Count arrivals rather than compare frame counters: two vCPUs ringing at the same
        // moment must not both believe they are last.
        lockstepArrivals += 1
        if lockstepArrivals == runners.count {
            lockstepArrivals = 0
            state.unlock()
            events.allFramesDone?(frame)
            state.lock()
            lockstepReleased = frame
            state.broadcast()
        } else {
            parked += 1
            state.broadcast()
            while lockstepReleased < frame && !stopping { state.wait() }
            parked -= 1
        }
        state.unlock()
    }

    /// Holds the vCPU at its doorbell until its next pacing tick (or a stop/pause).
    private func holdUntilNextTick(_ deadline: inout UInt64, period: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        deadline += period
        if deadline + period < now { deadline = now } // fell behind: do not try to catch up in a burst
        state.lock()
        while !stopping && !paused {
            let left = Int64(deadline) - Int64(DispatchTime.now().uptimeNanoseconds)
            if left <= 0 { break }
            _ = state.wait(until: Date(timeIntervalSinceNow: Double(left) / 1e9))
        }
        state.unlock()
    }

    private func publishCounters(cpu: Int, frames: Int, tick: UInt64) {
        let page = ram.pointer(at: Int(GuestLayout.counters))
        // SAFETY: the counters page is VMM-owned RAM below 2 MiB; the guest only reads it.
        page.storeBytes(of: tick, as: UInt64.self)
        page.storeBytes(of: DispatchTime.now().uptimeNanoseconds - bootTime, toByteOffset: 8, as: UInt64.self)
        page.storeBytes(of: UInt64(frames), toByteOffset: 16 + 8 * cpu, as: UInt64.self)
    }

    /// Records the first outcome and makes every vCPU leave. Caller holds `state`.
    private func finish(with result: MachineOutcome) {
        if outcome == nil { outcome = result }
        stopping = true
        kickAll()
        state.broadcast()
    }

    /// Kicks vCPUs out of `KVM_RUN`: `immediate_exit` covers one about to enter, the signal
    /// one already inside. Caller holds `state`.
    private func kickAll() {
        for r in runners {
            r.vcpu.setImmediateExit(true)
            if r.inGuest, let t = r.thread { pthread_kill(t, Self.kickSignal) }
        }
    }

    static let kickSignal = SIGUSR1
    private static let installOnce: Void = {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in } // only interrupts KVM_RUN (no SA_RESTART)
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(kickSignal, &action, nil)
    }()
    static func installKickSignal() { _ = installOnce }
}

/// Per-vCPU thread state, guarded by the machine's lock.
final class VCPURunner: @unchecked Sendable {
    let vcpu: VCPU
    var thread: pthread_t?
    var inGuest = false
    var frames = 0
    var console = DebugConsole()
    init(vcpu: VCPU) { self.vcpu = vcpu }
}

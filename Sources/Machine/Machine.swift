import Foundation
import KVM
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A booted guest: the VM, its RAM and framebuffer slots, and one thread per vCPU.
/// Start with `start()`, end with `stop()` or let `--frames` finish it; `wait()` returns how it ended.
///
/// Each vCPU is owned by its thread, which alone runs it; others reach it through a
/// `VCPUHandle` (`vcpu(_:)`). State is saved and loaded only while the vCPU is held out of
/// the guest (paused), before `start()` or after the run ended, and a held vCPU's own thread
/// does the work.
public final class Machine: @unchecked Sendable {
    public let config: MachineConfig
    public let vm: VirtualMachine
    private let vcpus: [VCPU]
    public let ram: GuestMemory
    public let framebuffer: GuestMemory
    public let events: MachineEvents
    /// Every memory slot, indexed by id, and which of them KVM logs now.
    let slotTable: SlotTable
    /// Pages the VMM wrote since the last harvest (see `writeGuest`).
    let guestWrites: GuestWriteLog
    /// The guest's keyboard and pointer: push events from any thread.
    public let input: GuestInputQueue
    /// The DISPI mode-setting registers and the mode in force (see `DisplayModeState`).
    let display: Mutex<DisplayModeState>
    /// Built empty for a migration stream to fill (`init(system:incoming:)`).
    private let incoming: Bool

    private let state = NSCondition()
    private var runners: [VCPURunner] = []
    private var paused = false
    private var stopping = false
    private var finished = 0
    private var parked = 0
    private var outcome: MachineOutcome?
    private var lockstepReleased = 0
    /// The last frame a vCPU has taken on to release (it runs `allFramesDone` unlocked).
    private var lockstepClaimed = 0
    /// Restored with uneven counts: frames below this are catch-up frames of the vCPUs behind,
    /// released without `allFramesDone` (memory then holds other vCPUs' later frames).
    private var lockstepCatchUp = 0
    /// State operations in progress: vCPUs stay held until they end, even if resumed or stopped.
    private var stateOperations = 0
    /// The guest clock's zero (host monotonic ns): the counters page's uptime_ns counts from it.
    /// A migrated guest's is moved back so its clock continues (`restoreClock`).
    private var bootTime = DispatchTime.now().uptimeNanoseconds

    /// Builds the VM: dirty logging as configured, RAM slot 0, framebuffer slot 1, vCPUs in
    /// long mode at CPL 3 at the image's entry point. Nothing runs until `start()`.
    public convenience init(system: KVMSystem, config: MachineConfig, events: MachineEvents = MachineEvents()) throws(MachineError) {
        try self.init(system: system, config: config, events: events, contents: nil)
    }

    /// Builds a fresh VM that continues where `snapshot` was taken: its RAM and framebuffer
    /// bytes, each vCPU's state and frame count. `config` must have the snapshot's geometry,
    /// RAM size and vCPU count; its image and arguments are not used (they are in the RAM),
    /// while logging, pacing, lockstep and `frameLimit` (counted from frame 1, so it continues
    /// from the snapshot's counts) apply. Nothing runs until `start()`.
    public convenience init(system: KVMSystem, config: MachineConfig, events: MachineEvents = MachineEvents(),
                            restoring snapshot: MachineSnapshot) throws(MachineError) {
        try snapshot.check(matches: config)
        try self.init(system: system, config: config, events: events, contents: snapshot)
    }

    /// Builds a VM for a migration destination to fill: memory all zero, vCPUs created but
    /// not set up. Write the incoming pages with `writeGuest`, load each vCPU's state through
    /// its handle and the frame counts with `restoreFrameCounts`, then `start()`.
    public convenience init(system: KVMSystem, incoming config: MachineConfig, events: MachineEvents = MachineEvents()) throws(MachineError) {
        try self.init(system: system, config: config, events: events, contents: nil, incoming: true)
    }

    private init(system: KVMSystem, config: MachineConfig, events: MachineEvents, contents snapshot: MachineSnapshot?,
                 incoming: Bool = false) throws(MachineError) {
        self.config = config
        self.events = events
        self.incoming = incoming
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
            let slots = [
                MemorySlot(id: GuestLayout.ramSlot, name: "RAM", guestPhysicalAddress: 0, memory: ram),
                MemorySlot(id: GuestLayout.framebufferSlot, name: "framebuffer", guestPhysicalAddress: GuestLayout.framebuffer, memory: framebuffer),
            ]
            let logged = [logging && config.logRAM, logging]
            slotTable = SlotTable(slots, logged: logged)
            guestWrites = GuestWriteLog(pageCounts: slots.map(\.pageCount))
            let writer = GuestWriter(slots: slotTable, log: guestWrites)
            if let snapshot {
                MachineSnapshot.copy(snapshot.ram, into: slots[0], with: writer)
                MachineSnapshot.copy(snapshot.framebuffer, into: slots[1], with: writer)
            } else if !incoming {
                BootSetup.load(config.image, with: writer)
                BootSetup.writeTables(with: writer, ram: ram, config: config)
            }
            input = GuestInputQueue(writer: writer)
            let maxMode = config.maxModeSize
            display = Mutex(DisplayModeState(device: DispiDevice(mode: config.initialMode, maxWidth: maxMode.width,
                                                                 maxHeight: maxMode.height, slotBytes: config.framebufferSlotBytes)))
            for slot in slots {
                try vm.setMemoryRegion(slot: slot.id, guestPhysicalAddress: slot.guestPhysicalAddress, memory: slot.memory,
                                       logDirtyPages: logged[Int(slot.id)])
            }
            var cpus: [VCPU] = []
            for i in 0..<config.cpus {
                let v = try vm.createVCPU(index: i)
                if let snapshot {
                    try v.loadState(snapshot.vcpus[i])
                } else if !incoming {
                    try BootSetup.enterUserMode(v, entry: config.image.entry)
                }
                cpus.append(v)
            }
            self.vm = vm
            vcpus = cpus
        } catch {
            throw .kvm(error)
        }
        runners = vcpus.map { VCPURunner(vcpu: $0) }
        if let snapshot {
            setFrameCounts(snapshot.frameCounts)
            input.restoreWaiting(snapshot.inputWaiting)
        }
    }

    private func setFrameCounts(_ counts: [Int]) {
        for (r, frames) in zip(runners, counts) { r.frames = frames; r.arrived = frames }
        // A vCPU ahead of the slowest starts held (see `runLoop`) until the others catch up.
        // It may have been stopped anywhere in its next frame (a source without lockstep
        // pauses vCPUs mid-frame), so memory can already hold part of frame max + 1: with
        // uneven counts the first frame shown to `allFramesDone` is max + 1, the first one
        // every vCPU finishes here.
        let low = counts.min() ?? 0, high = counts.max() ?? 0
        lockstepReleased = low
        lockstepClaimed = low
        lockstepCatchUp = high > low ? high + 1 : high
    }

    /// Sets each vCPU's completed-frame count (a migration destination, before `start()`).
    public func restoreFrameCounts(_ counts: [Int]) throws(MachineError) {
        state.lock(); defer { state.unlock() }
        guard !runners.contains(where: { $0.threadAlive || $0.threadEnded }) else {
            throw .snapshotMismatch("frame counts can only be restored before the machine starts")
        }
        guard counts.count == runners.count, counts.allSatisfy({ $0 >= 0 }) else {
            throw .snapshotMismatch("\(counts.count) frame counts for \(runners.count) vCPUs")
        }
        setFrameCounts(counts)
    }

    /// Starts one thread per vCPU. Call it once.
    public func start() {
        Self.installKickSignal()
        state.lock()
        precondition(!runners.contains { $0.threadAlive || $0.threadEnded }, "Machine.start() called twice")
        for r in runners { r.threadAlive = true } // owned from now on, even before the thread runs
        state.unlock()
        // An incoming guest's queue came with its pages. A booted one's head is the VMM's own:
        // never take it back from RAM the guest can write.
        if incoming { input.adoptRing() }
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
    /// no vCPU writes guest memory, and each vCPU's state may be saved or loaded.
    public func pause() {
        state.lock()
        paused = true
        kickAll()
        // Wake vCPUs sleeping at a pacing hold too: without this a paced vCPU parked only at
        // its next tick, up to a whole period (16.7 ms at 60 Hz) of migration downtime.
        state.broadcast()
        while parked + finished < runners.count { state.wait() }
        state.unlock()
    }

    public func resume() {
        state.lock()
        paused = false
        state.broadcast()
        state.unlock()
    }

    /// The number of vCPUs.
    public var vcpuCount: Int { vcpus.count }

    /// The handle through which others reach vCPU `index` (0-based).
    public func vcpu(_ index: Int) -> VCPUHandle {
        precondition(vcpus.indices.contains(index), "no vCPU \(index)")
        return VCPUHandle(machine: self, index: index)
    }

    /// Walks every vCPU's dirty ring, in vCPU order (see `DirtyRingView.harvest`), and returns
    /// the entries collected. Callers serialize harvests: the walk keeps each ring's fetch
    /// index, so two walks at once would hand out the same entries twice. It may run while
    /// the vCPUs run; that is what the rings are for.
    public func harvestDirtyRings(_ body: (UInt32, UInt64) -> Void) -> Int {
        var n = 0
        for v in vcpus { n += v.harvestDirtyRing(body) }
        return n
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

    /// The sum of the frames each vCPU has completed, read together (one lock, no array).
    public var totalFramesCompleted: Int {
        state.lock(); defer { state.unlock() }
        return runners.reduce(0) { $0 + $1.frames }
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
        state.lock()
        // A machine restored at or past its frame limit has nothing left to run (and must not
        // wait for a release the others, also done, will never give).
        let done = config.frameLimit.map { r.frames >= $0 } ?? false
        // Restored ahead of the slowest vCPU: held until the others catch up (`setFrameCounts`).
        if !done && config.lockstep && r.frames > lockstepReleased { waitForRelease(r, frame: r.frames) }
        state.unlock()
        loop: while !done {
            state.lock()
            park(r) { (self.paused && !self.stopping) || self.stateOperations > 0 }
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
            case .interrupted:
                continue
            case .portIn(let port, _):
                if port == DispiDevice.dataPort || port == DispiDevice.indexPort {
                    let value = display.withLock { port == DispiDevice.dataPort ? $0.device.readData : $0.device.readIndex }
                    vcpu.answerPortIn(value)
                }
                continue // other ports read all ones, as from an empty bus
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
                case GuestLayout.Port.yield:
                    sched_yield() // the guest waits for another vCPU's thread: let it run
                case GuestLayout.Port.exit:
                    state.lock(); finish(with: .guestExit(status: value)); state.unlock()
                    break loop
                case GuestLayout.Port.frameDoorbell:
                    state.lock()
                    r.frames += 1
                    let frame = r.frames
                    state.unlock()
                    publishCounters(cpu: vcpu.index, frames: frame, tick: period > 0 ? uptimeNanos / period : 0)
                    events.frameDone?(vcpu.index, frame)
                    input.deliver() // after frameDone, so events pushed for the next frame arrive before it starts
                    if config.lockstep { meetAtDoorbell(r, frame: frame) }
                    if let limit = config.frameLimit, frame >= limit { break loop }
                    if period > 0 { holdUntilNextTick(&deadline, period: period) }
                case DispiDevice.indexPort:
                    display.withLock { $0.device.writeIndex(value) }
                case DispiDevice.dataPort:
                    dispiWrite(value, cpu: vcpu.index)
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
        r.threadAlive = false
        r.threadEnded = true
        finished += 1
        if finished == runners.count, outcome == nil { outcome = config.frameLimit != nil ? .framesCompleted : .stopped }
        state.broadcast()
        state.unlock()
    }

    /// Lockstep: wait until every vCPU has rung doorbell `frame` and done its VMM work there
    /// (called after it); the last to arrive runs `allFramesDone` while the others wait (they
    /// count as parked: out of guest mode), so nothing writes guest memory meanwhile.
    private func meetAtDoorbell(_ r: VCPURunner, frame: Int) {
        state.lock()
        r.arrived = frame
        // Frame `frame` is done when every vCPU has completed it. Compare counters under the
        // lock, and claim the release so that two vCPUs ringing at the same moment do not both
        // run `allFramesDone`. A vCPU restored ahead of the others (a migration from a run
        // without lockstep) waits at its doorbell until they catch up; their catch-up frames
        // are released without `allFramesDone`.
        let everyone = runners.reduce(Int.max) { min($0, $1.arrived) }
        if everyone >= frame && lockstepClaimed < frame {
            lockstepClaimed = frame
            if frame >= lockstepCatchUp {
                state.unlock()
                events.allFramesDone?(frame)
                state.lock()
            }
            lockstepReleased = frame
            state.broadcast()
        } else {
            waitForRelease(r, frame: frame)
        }
        state.unlock()
    }

    /// Lockstep: holds `r`, which has arrived at doorbell `frame`, until the last vCPU to
    /// arrive releases the frame. Caller holds `state`.
    private func waitForRelease(_ r: VCPURunner, frame: Int) {
        park(r) { (self.lockstepReleased < frame && !self.stopping) || self.stateOperations > 0 }
    }

    /// Holds runner `r` out of the guest while `holding()` is true, counted as parked, and
    /// runs the state operations posted to it meanwhile. A posted operation is always run
    /// before the runner leaves. Caller holds `state`.
    private func park(_ r: VCPURunner, while holding: () -> Bool) {
        guard r.operation != nil || holding() else { return }
        parked += 1
        r.parked = true
        state.broadcast()
        while true {
            if let operation = r.operation {
                r.operation = nil
                operation()
                state.broadcast()
                continue
            }
            if !holding() { break }
            state.wait()
        }
        r.parked = false
        parked -= 1
    }

    // MARK: - State operations

    /// Runs `body` on vCPU `cpu` while it is held: on its own thread when it has one (the
    /// machine must be paused), or here before `start()` and after the run ended.
    func withHeldVCPU<R>(_ cpu: Int, doing what: String, _ body: @escaping (VCPU) throws(KVMError) -> R) throws(MachineError) -> R {
        state.lock()
        defer { state.unlock() }
        let r = runners[cpu]
        guard !r.threadAlive || (paused && r.parked) else { throw .vcpuRunning(cpu: cpu, operation: what) }
        stateOperations += 1
        defer { stateOperations -= 1; state.broadcast() }
        return try runHeld(r, body)
    }

    /// The state of every vCPU, the RAM and framebuffer bytes, and the frame counts, taken
    /// together. The machine must be paused (or not started, or ended); the vCPUs stay held
    /// until it is done, even if `resume()` or `stop()` is called meanwhile.
    public func snapshot() throws(MachineError) -> MachineSnapshot {
        state.lock()
        defer { state.unlock() }
        if let i = runners.firstIndex(where: { $0.threadAlive && !(paused && $0.parked) }) {
            throw .vcpuRunning(cpu: i, operation: "take a snapshot")
        }
        stateOperations += 1
        defer { stateOperations -= 1; state.broadcast() }
        // Pushes wait in the VMM while memory is copied, so each event is in the copied ring or in `inputWaiting`.
        input.setHeld(true)
        defer { input.setHeld(false) }
        var states: [VCPUState] = []
        for r in runners { states.append(try runHeld(r) { v throws(KVMError) in try v.saveState() }) }
        // Saving finished any pending I/O without running guest code, so memory is as it was.
        let mode = display.withLock { $0.device.mode }
        return MachineSnapshot(width: mode.width, height: mode.height, pitch: mode.pitch,
                               ram: MachineSnapshot.bytes(of: ram), framebuffer: MachineSnapshot.bytes(of: framebuffer),
                               vcpus: states, frameCounts: runners.map(\.frames), inputWaiting: input.waitingEvents)
    }

    /// Runs `body` on held runner `r`: posted to its thread, or here if it has none. Caller
    /// holds `state` and counts itself in `stateOperations`, so `r` stays parked.
    private func runHeld<R>(_ r: VCPURunner, _ body: @escaping (VCPU) throws(KVMError) -> R) throws(MachineError) -> R {
        var result: Result<R, KVMError>?
        if r.threadAlive {
            r.operation = { result = Result { () throws(KVMError) -> R in try body(r.vcpu) } }
            state.broadcast()
            while result == nil { state.wait() }
        } else {
            // No thread owns the vCPU; holding `state` keeps `start()` out meanwhile.
            result = Result { () throws(KVMError) -> R in try body(r.vcpu) }
        }
        switch result! {
        case .success(let value): return value
        case .failure(let error): throw .kvm(error)
        }
    }

    /// Kicks vCPU `cpu` out of `KVM_RUN` once; it re-enters unless paused or stopped.
    func kick(cpu: Int) {
        state.lock()
        kick(runners[cpu])
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
        // The counters page is VMM-owned RAM below 2 MiB; the guest only reads it.
        let w = GuestWriter(slots: slotTable, log: guestWrites)
        w.store(tick, at: GuestLayout.counters)
        w.store(uptimeNanos, at: GuestLayout.counters + GuestLayout.uptimeOffset)
        w.store(UInt64(frames), at: GuestLayout.counters + GuestLayout.frameCounterOffset(cpu: cpu))
    }

    /// A write to the DISPI data port, on vCPU `cpu`'s thread while it is out of the guest. A
    /// new mode is written into every vCPU's boot info before this returns, so the guest's
    /// `out` completes with the boot info already describing it.
    private func dispiWrite(_ value: UInt32, cpu: Int) {
        let effect: DispiDevice.Effect = display.withLock { d in
            let e = d.device.writeData(value)
            if case .modeSet(let mode) = e {
                d.serial += 1
                d.setAtNanos = DispatchTime.now().uptimeNanoseconds
                BootSetup.writeMode(mode, cpus: config.cpus, with: GuestWriter(slots: slotTable, log: guestWrites))
            }
            return e
        }
        switch effect {
        case .none: break
        case .modeSet(let mode): events.modeSet?(cpu, mode)
        case .refused(let why): events.modeRefused?(cpu, why)
        }
    }

    /// Sets the display mode in force (a migration destination, before `start()`, for a guest
    /// that set a mode at the source; its boot info arrived with the RAM). Counts as a mode
    /// set, so the display follows it at the first sync.
    /// The guest's clock now (the counters page's uptime_ns, from which its pacing tick comes).
    public var uptimeNanos: UInt64 { DispatchTime.now().uptimeNanoseconds &- bootTime }

    /// Each vCPU's debug-console output since its last newline (nil when none).
    public var consoleUnfinished: [String?] {
        state.lock(); defer { state.unlock() }
        return runners.map { $0.console.unfinished }
    }

    /// Continues a migrated guest's clock from `uptime` and each vCPU's unfinished console line
    /// (a destination, before `start()`).
    public func restoreClockAndConsole(uptime: UInt64, console: [[UInt8]]) throws(MachineError) {
        state.lock(); defer { state.unlock() }
        guard !runners.contains(where: { $0.threadAlive || $0.threadEnded }) else {
            throw .snapshotMismatch("the clock can only be restored before the machine starts")
        }
        guard console.count <= runners.count else { throw .snapshotMismatch("\(console.count) console lines for \(runners.count) vCPUs") }
        // Wrapping: the source's host may have been up longer than this one.
        bootTime = DispatchTime.now().uptimeNanoseconds &- uptime
        for (r, bytes) in zip(runners, console) {
            for b in bytes where b != UInt8(ascii: "\n") { _ = r.console.put(b) }
        }
    }

    public func restoreDisplayMode(_ mode: DisplayMode) throws(MachineError) {
        state.lock(); defer { state.unlock() }
        guard !runners.contains(where: { $0.threadAlive || $0.threadEnded }) else {
            throw .snapshotMismatch("the display mode can only be restored before the machine starts")
        }
        try display.withLock { d throws(MachineError) in
            guard mode != d.device.mode else { return }
            let dev = d.device
            if let why = dev.problem(width: UInt32(clamping: mode.width), height: UInt32(clamping: mode.height), bpp: 32,
                                     virtWidth: UInt32(clamping: mode.pitch / 4), xOffset: 0, yOffset: 0) {
                throw .snapshotMismatch("the source's display \(why)")
            }
            guard mode.pitch % 4 == 0, mode.pitch >= mode.width * 4 else { throw .snapshotMismatch("the source's display mode \(mode) has a bad pitch") }
            d.device = DispiDevice(mode: mode, maxWidth: dev.maxWidth, maxHeight: dev.maxHeight, slotBytes: dev.slotBytes)
            d.serial += 1
        }
    }

    /// The display mode in force, how many mode sets the guest made, and when the last was.
    public var displayMode: DisplayModeState.Snapshot { display.withLock { $0.snapshot } }

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
        for r in runners { kick(r) }
    }

    /// Caller holds `state`.
    private func kick(_ r: VCPURunner) {
        r.vcpu.setImmediateExit(true)
        if r.inGuest, let t = r.thread { pthread_kill(t, Self.kickSignal) }
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

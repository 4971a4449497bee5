import Input

/// What a guest carries besides its memory and vCPU registers: the VMM's side of its devices
/// (frame counters, clock, console, display mode, input waiting for room). A migration
/// destination, or a machine built from a snapshot, hands it to `Machine.restore(_:)` before
/// `start()`. A nil or empty field leaves that part as it is.
public struct MachineDeviceState: Equatable, Sendable {
    /// Frames each vCPU had completed (doorbells seen): the machine counts on from these.
    public var frameCounts: [Int]?
    /// The guest clock (`uptime_ns` in the counters page), continued from here.
    public var uptimeNanos: UInt64?
    /// Each vCPU's console output since its last newline, which the next newline completes.
    public var consoleUnfinished: [[UInt8]]
    /// The display mode the guest had set, if not the configured one.
    public var displayMode: DisplayMode?
    /// Input events waiting in the VMM for room in the guest's queue, oldest first.
    public var inputWaiting: [InputEvent]

    public init(frameCounts: [Int]? = nil, uptimeNanos: UInt64? = nil, consoleUnfinished: [[UInt8]] = [],
                displayMode: DisplayMode? = nil, inputWaiting: [InputEvent] = []) {
        self.frameCounts = frameCounts
        self.uptimeNanos = uptimeNanos
        self.consoleUnfinished = consoleUnfinished
        self.displayMode = displayMode
        self.inputWaiting = inputWaiting
    }
}

extension Machine {
    /// Restores `state` before `start()`: the one restore path, for a migration destination
    /// and a machine built from a snapshot. Checked whole first, so a state that does not fit
    /// changes nothing (`snapshotMismatch` says why). A restored display mode counts as a
    /// mode set, so the display follows it at its first sync. An incoming guest's waiting
    /// input goes into its queue at `start()`, after its ring has arrived with the pages.
    public func restore(_ state: MachineDeviceState) throws(MachineError) {
        try crew.beforeStart(restoring: "the device state") { () throws(MachineError) in
            if let counts = state.frameCounts, counts.count != vcpuCount || counts.contains(where: { $0 < 0 }) {
                throw .snapshotMismatch("\(counts.count) frame counts for \(vcpuCount) vCPUs")
            }
            guard state.consoleUnfinished.count <= vcpuCount else {
                throw .snapshotMismatch("\(state.consoleUnfinished.count) console lines for \(vcpuCount) vCPUs")
            }
            if let mode = state.displayMode, let why = dispi.problem(restoring: mode) { throw .snapshotMismatch(why) }
            if let counts = state.frameCounts {
                doorbell.restore(frameCounts: counts)
                // With lockstep a vCPU ahead of the slowest was held at its doorbell, having
                // arrived: it starts held there again.
                crew.lockstep?.restore(frameCounts: counts)
            }
            if let uptime = state.uptimeNanos { clock.continueFrom(uptime: uptime) }
            console.restore(unfinished: state.consoleUnfinished)
            if let mode = state.displayMode { dispi.restore(mode) }
            if !state.inputWaiting.isEmpty {
                if incoming { incomingInput.withLock { $0 = state.inputWaiting } } else { input.restoreWaiting(state.inputWaiting) }
            }
        }
    }

    /// Sets each vCPU's completed-frame count (before `start()`); `restore(_:)` with only counts.
    public func restoreFrameCounts(_ counts: [Int]) throws(MachineError) {
        try restore(MachineDeviceState(frameCounts: counts))
    }

    /// Continues a migrated guest's clock from `uptime` and each vCPU's unfinished console
    /// line (before `start()`); `restore(_:)` with only those.
    public func restoreClockAndConsole(uptime: UInt64, console: [[UInt8]]) throws(MachineError) {
        try restore(MachineDeviceState(uptimeNanos: uptime, consoleUnfinished: console))
    }

    /// Sets the display mode in force (before `start()`); `restore(_:)` with only the mode.
    public func restoreDisplayMode(_ mode: DisplayMode) throws(MachineError) {
        try restore(MachineDeviceState(displayMode: mode))
    }

    // MARK: - Reading it

    /// Frames vCPU `cpu` has completed (doorbells seen).
    public func framesCompleted(cpu: Int) -> Int { doorbell.frames(cpu: cpu) }

    /// Frames each vCPU has completed, read together.
    public var frameCounts: [Int] { doorbell.frameCounts }

    /// The sum of the frames each vCPU has completed, read together (one lock, no array).
    public var totalFramesCompleted: Int { doorbell.totalFrames }

    /// The last frame every vCPU has completed: the frame the framebuffer wholly shows once
    /// the vCPUs are held.
    public var framesCompletedByEveryVCPU: Int { frameCounts.min() ?? 0 }

    /// The guest's clock now (the counters page's uptime_ns, from which its pacing tick comes).
    public var uptimeNanos: UInt64 { clock.uptimeNanos }

    /// The last complete console line of any vCPU.
    public var lastConsoleLine: String? { console.lastLine }

    /// Each vCPU's debug-console output since its last newline (nil when none).
    public var consoleUnfinished: [String?] { console.unfinished }

    /// The display mode in force, how many mode sets the guest made, and when the last was.
    public var displayMode: DisplayModeState.Snapshot { dispi.snapshot }
}

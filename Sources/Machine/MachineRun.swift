import Foundation

/// Starting, pausing and ending a machine's run: commands to every vCPU thread (`VCPUCrew`).
extension Machine {
    /// Starts one thread per vCPU. Call it once.
    public func start() {
        KickSignal.install()
        crew.markStarted()
        // An incoming guest's queue came with its pages: take it over, with the events that
        // waited at the source first. A booted one's head is the VMM's own: never take it back
        // from RAM the guest can write.
        if incoming { input.restoreWaiting(incomingInput.withLock { $0 }) }
        let frames = doorbell.frameCounts
        startFrames.withLock { $0 = frames }
        for (i, mailbox) in crew.mailboxes.enumerated() {
            let handler = ExitHandler(cpu: i, bus: bus, frameLimit: config.frameLimit,
                                      pacer: Pacer(hz: config.guestHz, start: DispatchTime.now().uptimeNanoseconds),
                                      throttle: throttle)
            VCPUThread(vm: vm, mailbox: mailbox, handler: handler, crew: crew, console: console, startFrame: frames[i],
                       dirtyRingFull: events.dirtyRingFull).spawn()
        }
    }

    /// Every vCPU's frame count when the machine started (now, before it starts): an
    /// incoming guest, started by its hand-over, has run on by the time its session is built.
    public var frameCountsAtStart: [Int] { startFrames.withLock { $0 } ?? frameCounts }

    /// Asks every vCPU to stop (they leave `KVM_RUN` at once); `wait()` then returns `.stopped`
    /// unless something else ended the run first.
    public func stop() { crew.finish(with: .stopped) }

    /// Blocks until every vCPU thread has ended.
    @discardableResult
    public func wait() -> MachineOutcome { crew.wait(untilUptime: nil)! }

    /// Waits at most `seconds`; `nil` if vCPUs are still running.
    public func wait(seconds: Double) -> MachineOutcome? {
        crew.wait(untilUptime: DispatchTime.now().uptimeNanoseconds + UInt64(min(max(seconds, 0), 1e9) * 1e9))
    }

    /// How the run ended, once every vCPU thread has ended; nil while any still runs.
    public var finishedOutcome: MachineOutcome? { crew.outcome }

    public var isFinished: Bool { crew.outcome != nil }

    /// Takes every vCPU out of guest mode and holds it until `resume()`. When this returns,
    /// no vCPU writes guest memory, and each vCPU's state may be saved or loaded. A vCPU
    /// waiting for its pacing tick parks at once, not at the tick (migration downtime).
    public func pause() { crew.pause() }

    public func resume() { crew.resume() }

    /// Kicks vCPU `cpu` out of `KVM_RUN` once; it re-enters unless paused or stopped.
    func kick(cpu: Int) { crew.mailboxes[cpu].kick() }
}

import Synchronization

/// The frame doorbell (port 0xF0): a vCPU has finished a frame. Counts it, publishes the
/// counters page, tells `MachineEvents.frameDone`, then delivers waiting input (after
/// `frameDone`, so events pushed for the next frame arrive before it starts). The vCPU's
/// thread goes on from `.frameDone`: the lockstep meet, the frame limit, the pacing hold.
final class DoorbellPort: PortDevice {
    let ports = GuestLayout.Port.frameDoorbell...GuestLayout.Port.frameDoorbell
    /// Frames each vCPU has completed (doorbells seen).
    private let counts: Mutex<[Int]>
    private let counters: CountersPage
    private let input: GuestInputQueue
    private let frameDone: (@Sendable (_ cpu: Int, _ frame: Int) -> Void)?

    init(cpus: Int, counters: CountersPage, input: GuestInputQueue, frameDone: (@Sendable (Int, Int) -> Void)?) {
        counts = Mutex(Array(repeating: 0, count: cpus))
        self.counters = counters
        self.input = input
        self.frameDone = frameDone
    }

    func write(port: UInt16, cpu: Int, data: PortData) -> PortAction {
        let frame = counts.withLock { c in
            c[cpu] += 1
            return c[cpu]
        }
        counters.publish(cpu: cpu, frames: frame)
        frameDone?(cpu, frame)
        input.deliver()
        return .frameDone(frame)
    }

    /// Frames each vCPU has completed, read together.
    var frameCounts: [Int] { counts.withLock { $0 } }

    /// Frames vCPU `cpu` has completed.
    func frames(cpu: Int) -> Int { counts.withLock { $0[cpu] } }

    /// The sum over every vCPU, read together.
    var totalFrames: Int { counts.withLock { $0.reduce(0, +) } }

    /// Sets the counts (a restore, before `start()`).
    func restore(frameCounts: [Int]) { counts.withLock { $0 = frameCounts } }
}

/// The counters page (`struct rs_counters`): VMM-owned RAM below 2 MiB that the guest only
/// reads: the pacing tick, the guest's uptime and each vCPU's frame count.
struct CountersPage: Sendable {
    let writer: GuestWriter
    let clock: GuestClock
    /// The pacing period in ns (0: free-running, the tick stays 0).
    let period: UInt64

    func publish(cpu: Int, frames: Int) {
        let uptime = clock.uptimeNanos
        writer.store(Pacer.tick(uptime: uptime, period: period), at: GuestLayout.counters)
        writer.store(uptime, at: GuestLayout.counters + GuestLayout.uptimeOffset)
        writer.store(UInt64(frames), at: GuestLayout.counters + GuestLayout.frameCounterOffset(cpu: cpu))
    }
}

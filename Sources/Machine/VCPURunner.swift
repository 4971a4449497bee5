import Foundation
import KVM

/// Per-vCPU thread state, guarded by the machine's lock.
final class VCPURunner: @unchecked Sendable {
    let vcpu: VCPU
    var thread: pthread_t?
    /// From `start()` until the thread ends: the thread owns the vCPU.
    var threadAlive = false
    var threadEnded = false
    var inGuest = false
    /// Held out of the guest (paused, or waiting at a lockstep doorbell).
    var parked = false
    /// A state operation for the thread to run while parked.
    var operation: (() -> Void)?
    var frames = 0
    /// Lockstep: the last doorbell at which this vCPU has done its VMM work (counters page,
    /// `frameDone`, input) and waits. `frames` counts a doorbell before that work, so the meet
    /// counts this instead: `allFramesDone` must not run beside another vCPU's VMM writes.
    var arrived = 0
    var console = DebugConsole()
    init(vcpu: VCPU) { self.vcpu = vcpu }
}

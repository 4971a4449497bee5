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
    var console = DebugConsole()
    init(vcpu: VCPU) { self.vcpu = vcpu }
}

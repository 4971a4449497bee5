import KVM
import Machine
import Synchronization

/// Where a machine's `KVM_EXIT_DIRTY_RING_FULL` exits go. A machine's events are fixed when
/// it is built, before the session that harvests it exists, so the machine is built with a
/// handler that forwards to this relay, and the session attaches itself once made (start the
/// machine after that). With no session attached the handler does nothing.
final class RingFullRelay: Sendable {
    private struct Target: Sendable { weak var session: TrackingSession? }
    private let target = Mutex(Target())

    /// `events` with `dirtyRingFull` forwarding here.
    func routing(_ events: MachineEvents) -> MachineEvents {
        var routed = events
        routed.dirtyRingFull = { [self] cpu throws(KVMError) in try forward(cpu: cpu) }
        return routed
    }

    /// From now on full rings are harvested by `session`.
    func attach(_ session: TrackingSession) {
        target.withLock { $0.session = session }
    }

    private func forward(cpu: Int) throws(KVMError) {
        try target.withLock { $0.session }?.harvestForRingFull(cpu: cpu)
    }
}

import KVM

/// How code other than a vCPU's own thread reaches it. Saving and loading state is refused
/// with `MachineError.vcpuRunning` unless the machine is paused, not yet started, or ended;
/// when the vCPU has a thread, that thread does the work while it is held.
public struct VCPUHandle: Sendable {
    let machine: Machine
    public let index: Int

    /// Kicks the vCPU out of `KVM_RUN` once (`immediate_exit` and a signal); it re-enters
    /// at once unless the machine is paused or stopping.
    public func kick() { machine.kick(cpu: index) }

    /// The vCPU's complete state (see `VCPU.saveState`).
    public func saveState() throws(MachineError) -> VCPUState {
        try machine.withHeldVCPU(index, doing: "save the state") { v throws(KVMError) in try v.saveState() }
    }

    /// Replaces the vCPU's state; it continues from there when it runs again.
    public func loadState(_ state: VCPUState) throws(MachineError) {
        try machine.withHeldVCPU(index, doing: "load a state") { v throws(KVMError) in try v.loadState(state) }
    }

    /// Frames this vCPU has completed (doorbells seen).
    public var framesCompleted: Int { machine.framesCompleted(cpu: index) }
}

/// The KVM operation (an ioctl, or an mmap of a KVM descriptor or of guest memory) that a
/// `KVMError.ioctl` reports. Callers match on the case; `description` is how a user reads it.
public enum KVMOperation: Equatable, Sendable, CustomStringConvertible {
    // /dev/kvm
    case createVM
    case getVCPUMmapSize
    // VM fd
    /// `KVM_ENABLE_CAP`; `bytes` is the argument when it is a size (the dirty ring's).
    case enableCap(Capability, bytes: Int? = nil)
    case setUserMemoryRegion(slot: UInt32)
    case getDirtyLog(slot: UInt32)
    case clearDirtyLog(slot: UInt32)
    case resetDirtyRings
    case createVCPU(Int)
    // vCPU fd (the payload is the vCPU index)
    case setCPUID(vcpu: Int)
    case run(vcpu: Int)
    case getRegs(vcpu: Int)
    case setRegs(vcpu: Int)
    case getSregs(vcpu: Int)
    case setSregs(vcpu: Int)
    // mmap
    case mmapRun(vcpu: Int)
    case mmapRing(vcpu: Int)
    case mmapGuestMemory(bytes: Int, name: String)

    public var description: String {
        switch self {
        case .createVM: return "KVM_CREATE_VM"
        case .getVCPUMmapSize: return "KVM_GET_VCPU_MMAP_SIZE"
        case .enableCap(let cap, let bytes?): return "KVM_ENABLE_CAP(\(cap.name), \(bytes) bytes)"
        case .enableCap(let cap, nil): return "KVM_ENABLE_CAP(\(cap.name))"
        case .setUserMemoryRegion(let slot): return "KVM_SET_USER_MEMORY_REGION(slot \(slot))"
        case .getDirtyLog(let slot): return "KVM_GET_DIRTY_LOG(slot \(slot))"
        case .clearDirtyLog(let slot): return "KVM_CLEAR_DIRTY_LOG(slot \(slot))"
        case .resetDirtyRings: return "KVM_RESET_DIRTY_RINGS"
        case .createVCPU(let i): return "KVM_CREATE_VCPU(\(i))"
        case .setCPUID(let v): return "KVM_SET_CPUID2(vCPU \(v))"
        case .run(let v): return "KVM_RUN(vCPU \(v))"
        case .getRegs(let v): return "KVM_GET_REGS(vCPU \(v))"
        case .setRegs(let v): return "KVM_SET_REGS(vCPU \(v))"
        case .getSregs(let v): return "KVM_GET_SREGS(vCPU \(v))"
        case .setSregs(let v): return "KVM_SET_SREGS(vCPU \(v))"
        case .mmapRun(let v): return "mmap of kvm_run for vCPU \(v)"
        case .mmapRing(let v): return "mmap of the dirty ring for vCPU \(v)"
        case .mmapGuestMemory(let bytes, let name): return "mmap of \(bytes) bytes for \(name)"
        }
    }
}

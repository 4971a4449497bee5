/// The KVM operation (an ioctl, or an mmap of a KVM descriptor or of guest memory) that a
/// `KVMError.ioctl` reports. Callers match on the case; `description` is how a user reads it.
public enum KVMOperation: Equatable, Sendable, CustomStringConvertible {
    // /dev/kvm
    case createVM
    case getVCPUMmapSize
    case getMSRIndexList
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
    case getFPU(vcpu: Int)
    case setFPU(vcpu: Int)
    case getXSAVE(vcpu: Int)
    case getXSAVE2(vcpu: Int)
    case setXSAVE(vcpu: Int)
    case getXCRS(vcpu: Int)
    case setXCRS(vcpu: Int)
    case getMSRs(vcpu: Int)
    case setMSRs(vcpu: Int)
    case getVCPUEvents(vcpu: Int)
    case setVCPUEvents(vcpu: Int)
    case getDebugRegs(vcpu: Int)
    case setDebugRegs(vcpu: Int)
    case getMPState(vcpu: Int)
    case setMPState(vcpu: Int)
    // mmap
    case mmapRun(vcpu: Int)
    case mmapRing(vcpu: Int)
    case mmapGuestMemory(bytes: Int, name: String)

    public var description: String {
        switch self {
        case .createVM: return "KVM_CREATE_VM"
        case .getVCPUMmapSize: return "KVM_GET_VCPU_MMAP_SIZE"
        case .getMSRIndexList: return "KVM_GET_MSR_INDEX_LIST"
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
        case .getFPU(let v): return "KVM_GET_FPU(vCPU \(v))"
        case .setFPU(let v): return "KVM_SET_FPU(vCPU \(v))"
        case .getXSAVE(let v): return "KVM_GET_XSAVE(vCPU \(v))"
        case .getXSAVE2(let v): return "KVM_GET_XSAVE2(vCPU \(v))"
        case .setXSAVE(let v): return "KVM_SET_XSAVE(vCPU \(v))"
        case .getXCRS(let v): return "KVM_GET_XCRS(vCPU \(v))"
        case .setXCRS(let v): return "KVM_SET_XCRS(vCPU \(v))"
        case .getMSRs(let v): return "KVM_GET_MSRS(vCPU \(v))"
        case .setMSRs(let v): return "KVM_SET_MSRS(vCPU \(v))"
        case .getVCPUEvents(let v): return "KVM_GET_VCPU_EVENTS(vCPU \(v))"
        case .setVCPUEvents(let v): return "KVM_SET_VCPU_EVENTS(vCPU \(v))"
        case .getDebugRegs(let v): return "KVM_GET_DEBUGREGS(vCPU \(v))"
        case .setDebugRegs(let v): return "KVM_SET_DEBUGREGS(vCPU \(v))"
        case .getMPState(let v): return "KVM_GET_MP_STATE(vCPU \(v))"
        case .setMPState(let v): return "KVM_SET_MP_STATE(vCPU \(v))"
        case .mmapRun(let v): return "mmap of kvm_run for vCPU \(v)"
        case .mmapRing(let v): return "mmap of the dirty ring for vCPU \(v)"
        case .mmapGuestMemory(let bytes, let name): return "mmap of \(bytes) bytes for \(name)"
        }
    }
}

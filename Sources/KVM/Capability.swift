internal import CKVM

/// KVM capabilities Ringside asks about (`KVM_CAP_*`).
public enum Capability: Int, CaseIterable, Sendable {
    case nrVCPUs = 9
    case maxVCPUs = 66
    case manualDirtyLogProtect2 = 168
    case dirtyLogRing = 192
    case dirtyLogRingAcqRel = 223
    case immediateExit = 136
    case mpState = 14
    case vcpuEvents = 41
    case debugRegs = 50
    case xsave = 55
    case xcrs = 56
    /// Its value is the size of the XSAVE area `KVM_GET_XSAVE2` writes (at least 4096).
    case xsave2 = 208

    /// `KVM_CAP_DIRTY_LOG_RING` or `KVM_CAP_DIRTY_LOG_RING_ACQ_REL`.
    public var isDirtyRing: Bool { self == .dirtyLogRing || self == .dirtyLogRingAcqRel }

    public var name: String {
        switch self {
        case .nrVCPUs: return "KVM_CAP_NR_VCPUS"
        case .maxVCPUs: return "KVM_CAP_MAX_VCPUS"
        case .manualDirtyLogProtect2: return "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2"
        case .dirtyLogRing: return "KVM_CAP_DIRTY_LOG_RING"
        case .dirtyLogRingAcqRel: return "KVM_CAP_DIRTY_LOG_RING_ACQ_REL"
        case .immediateExit: return "KVM_CAP_IMMEDIATE_EXIT"
        case .mpState: return "KVM_CAP_MP_STATE"
        case .vcpuEvents: return "KVM_CAP_VCPU_EVENTS"
        case .debugRegs: return "KVM_CAP_DEBUGREGS"
        case .xsave: return "KVM_CAP_XSAVE"
        case .xcrs: return "KVM_CAP_XCRS"
        case .xsave2: return "KVM_CAP_XSAVE2"
        }
    }
}

/// What this host's KVM offers for dirty tracking, read once with `KVM_CHECK_EXTENSION`
/// on a scratch VM (ring capabilities are per-VM queries).
public struct HostCapabilities: Sendable, Equatable {
    public var apiVersion: Int
    /// Largest ring in bytes for `KVM_CAP_DIRTY_LOG_RING_ACQ_REL` (0: unsupported).
    public var dirtyRingAcqRelBytes: Int
    /// Largest ring in bytes for `KVM_CAP_DIRTY_LOG_RING` (0: unsupported).
    public var dirtyRingBytes: Int
    /// `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2` flags (0: unsupported).
    public var manualProtect: Int
    /// Recommended vCPUs (`KVM_CAP_NR_VCPUS`).
    public var recommendedVCPUs: Int
    /// Maximum vCPUs (`KVM_CAP_MAX_VCPUS`).
    public var maxVCPUs: Int

    /// Bytes per `struct kvm_dirty_gfn`.
    public static let ringEntryBytes = 16

    /// The usable vCPU count: the recommended count (what KVM says runs well), at least 1.
    public var usableVCPUs: Int { max(1, recommendedVCPUs) }

    public init(apiVersion: Int, dirtyRingAcqRelBytes: Int, dirtyRingBytes: Int, manualProtect: Int, recommendedVCPUs: Int, maxVCPUs: Int) {
        self.apiVersion = apiVersion
        self.dirtyRingAcqRelBytes = dirtyRingAcqRelBytes
        self.dirtyRingBytes = dirtyRingBytes
        self.manualProtect = manualProtect
        self.recommendedVCPUs = recommendedVCPUs
        self.maxVCPUs = maxVCPUs
    }

    public init(system: KVMSystem) throws(KVMError) {
        let vm = try system.createVM()
        apiVersion = system.apiVersion
        dirtyRingAcqRelBytes = vm.checkExtension(.dirtyLogRingAcqRel)
        dirtyRingBytes = vm.checkExtension(.dirtyLogRing)
        manualProtect = vm.checkExtension(.manualDirtyLogProtect2)
        recommendedVCPUs = vm.checkExtension(.nrVCPUs)
        maxVCPUs = vm.checkExtension(.maxVCPUs)
    }
}

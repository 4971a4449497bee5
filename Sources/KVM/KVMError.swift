#if canImport(Glibc)
import Glibc
#endif

/// Errors from the KVM layer. Each case names the failing operation and keeps the errno;
/// `description` is the one line a user sees.
public enum KVMError: Error, Equatable, CustomStringConvertible {
    /// /dev/kvm does not exist: no KVM on this host.
    case deviceMissing(path: String)
    /// /dev/kvm exists but cannot be opened by this user.
    case deviceNotPermitted(path: String, errno: Int32)
    /// The KVM API version is not the stable version 12.
    case unsupportedAPIVersion(Int32)
    /// The path opened, but it is not a KVM device (`KVM_GET_API_VERSION` failed).
    case notKVMDevice(path: String, errno: Int32)
    /// An ioctl or mmap on a KVM file descriptor (or of guest memory) failed.
    case ioctl(KVMOperation, errno: Int32)
    /// `KVM_GET_MSRS` or `KVM_SET_MSRS` stopped at `msr`: this host's KVM does not accept it.
    case msrNotAccepted(KVMOperation, msr: UInt32)
    /// Bytes given as an encoded `VCPUState` are not one (truncated, garbled, another version).
    case malformedState(String)
    /// A capability this operation needs is not offered by the host's KVM.
    case capabilityMissing(String)
    /// A requested size is outside what KVM accepts.
    case outOfRange(String)

    public var errno: Int32? {
        switch self {
        case .deviceNotPermitted(_, let e), .ioctl(_, let e), .notKVMDevice(_, let e): return e
        default: return nil
        }
    }

    /// The kernel refused to enable a dirty ring (`KVM_ENABLE_CAP` of either ring capability):
    /// the case where dirty tracking can fall back to `KVM_GET_DIRTY_LOG`.
    public var isDirtyRingRefusal: Bool {
        if case .ioctl(.enableCap(let cap, _), _) = self { return cap.isDirtyRing }
        return false
    }

    public var description: String {
        switch self {
        case .deviceMissing(let path):
            return "\(path) does not exist: this host has no KVM (load kvm, or run on a machine with KVM)"
        case .deviceNotPermitted(let path, let e):
            return "cannot open \(path): \(errnoText(e)) (run as root or join the kvm group)"
        case .notKVMDevice(let path, let e):
            return "\(path) is not a KVM device: KVM_GET_API_VERSION failed: \(errnoText(e)) (point --device at /dev/kvm)"
        case .unsupportedAPIVersion(let v):
            return "KVM API version \(v) is not supported (need 12)"
        case .ioctl(let op, let e):
            return "\(op) failed: \(errnoText(e)) (errno \(e))"
        case .msrNotAccepted(let op, let msr):
            return "\(op) did not accept MSR 0x\(String(msr, radix: 16)) (this host's KVM does not support it)"
        case .malformedState(let why):
            return "saved vCPU state is malformed: \(why)"
        case .capabilityMissing(let cap):
            return "this host's KVM does not support \(cap)"
        case .outOfRange(let what):
            return what
        }
    }
}

func errnoText(_ e: Int32) -> String { String(cString: strerror(e)) }

/// Converts a shim result (`>= 0` or `-errno`) into a value or a `KVMError.ioctl`.
@inline(__always)
func check(_ result: Int32, _ operation: KVMOperation) throws(KVMError) -> Int32 {
    if result < 0 { throw KVMError.ioctl(operation, errno: -result) }
    return result
}

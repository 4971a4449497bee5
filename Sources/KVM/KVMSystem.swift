internal import CKVM
#if canImport(Glibc)
import Glibc
#endif

/// The `/dev/kvm` file descriptor: system-wide queries and VM creation.
public final class KVMSystem: Sendable {
    let fd: OwnedFD
    public let path: String

    /// Opens `/dev/kvm` (or `path`) and checks `KVM_GET_API_VERSION` is 12.
    public init(path: String = "/dev/kvm") throws(KVMError) {
        self.path = path
        let raw = open(path, O_RDWR | O_CLOEXEC)
        if raw < 0 {
            let e = Glibc.errno
            if e == ENOENT { throw .deviceMissing(path: path) }
            throw .deviceNotPermitted(path: path, errno: e)
        }
        fd = OwnedFD(raw)
        let version = ckvm_get_api_version(raw)
        if version < 0 { throw .notKVMDevice(path: path, errno: -version) }
        if version != 12 { throw .unsupportedAPIVersion(version) }
    }

    /// `KVM_GET_API_VERSION`.
    public var apiVersion: Int { Int(ckvm_get_api_version(fd.raw)) }

    /// `KVM_CHECK_EXTENSION` on /dev/kvm; 0 when unsupported.
    public func checkExtension(_ cap: Capability) -> Int {
        max(0, Int(ckvm_check_extension(fd.raw, cap.rawValue)))
    }

    /// `KVM_GET_VCPU_MMAP_SIZE`: bytes of the shared `kvm_run` area per vCPU.
    public func vcpuMmapSize() throws(KVMError) -> Int {
        Int(try check(ckvm_get_vcpu_mmap_size(fd.raw), .getVCPUMmapSize))
    }

    /// `KVM_GET_MSR_INDEX_LIST`: the MSRs this host's KVM saves and restores.
    public func msrIndexList() throws(KVMError) -> [UInt32] {
        var capacity = 256
        while true {
            var indices = [UInt32](repeating: 0, count: capacity)
            let n = ckvm_get_msr_index_list(fd.raw, &indices, UInt32(capacity))
            if n == -E2BIG && capacity < 1 << 16 { capacity *= 4; continue }
            return Array(indices.prefix(Int(try check(n, .getMSRIndexList))))
        }
    }

    /// `KVM_CREATE_VM`.
    public func createVM() throws(KVMError) -> VirtualMachine {
        let raw = try check(ckvm_create_vm(fd.raw), .createVM)
        return VirtualMachine(system: self, fd: OwnedFD(raw))
    }
}

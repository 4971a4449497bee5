import KVM
import XCTest

/// Errors carry the failing operation as a case, and still read as one line naming the ioctl.
final class KVMErrorTests: XCTestCase {
    func testDescriptionsNameTheIoctlItsArgumentAndTheErrno() {
        let cases: [(KVMError, String)] = [
            (.ioctl(.setUserMemoryRegion(slot: 1), errno: EINVAL), "KVM_SET_USER_MEMORY_REGION(slot 1) failed: Invalid argument (errno 22)"),
            (.ioctl(.enableCap(.dirtyLogRingAcqRel, bytes: 3000), errno: EINVAL),
             "KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING_ACQ_REL, 3000 bytes) failed: Invalid argument (errno 22)"),
            (.ioctl(.enableCap(.manualDirtyLogProtect2), errno: EINVAL), "KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) failed: Invalid argument (errno 22)"),
            (.ioctl(.run(vcpu: 1), errno: EFAULT), "KVM_RUN(vCPU 1) failed: Bad address (errno 14)"),
            (.ioctl(.createVCPU(3), errno: EEXIST), "KVM_CREATE_VCPU(3) failed: File exists (errno 17)"),
            (.ioctl(.mmapGuestMemory(bytes: 4096, name: "guest RAM"), errno: ENOMEM), "mmap of 4096 bytes for guest RAM failed: Cannot allocate memory (errno 12)"),
            (.ioctl(.mmapRing(vcpu: 0), errno: EINVAL), "mmap of the dirty ring for vCPU 0 failed: Invalid argument (errno 22)"),
        ]
        for (error, line) in cases { XCTAssertEqual(error.description, line) }
    }

    func testOnlyARefusedDirtyRingCapabilityIsADirtyRingRefusal() {
        XCTAssertTrue(KVMError.ioctl(.enableCap(.dirtyLogRing, bytes: 1 << 30), errno: EINVAL).isDirtyRingRefusal)
        XCTAssertTrue(KVMError.ioctl(.enableCap(.dirtyLogRingAcqRel, bytes: 4096), errno: EINVAL).isDirtyRingRefusal)
        XCTAssertFalse(KVMError.ioctl(.enableCap(.manualDirtyLogProtect2), errno: EINVAL).isDirtyRingRefusal,
                       "another capability is not a ring refusal")
        XCTAssertFalse(KVMError.ioctl(.setUserMemoryRegion(slot: 0), errno: EINVAL).isDirtyRingRefusal)
        XCTAssertFalse(KVMError.capabilityMissing("KVM_CAP_DIRTY_LOG_RING").isDirtyRingRefusal,
                       "only an ioctl the kernel refused counts, not a description that mentions the ring")
    }
}

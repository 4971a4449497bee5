import KVM
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class KVMSystemTests: XCTestCase {
    func testMissingDeviceSaysThereIsNoKVM() {
        XCTAssertThrowsError(try KVMSystem(path: "/nonexistent/kvm")) { error in
            XCTAssertEqual(error as? KVMError, .deviceMissing(path: "/nonexistent/kvm"))
            XCTAssertTrue("\(error)".contains("has no KVM"))
        }
    }

    func testADeviceThatIsNotKVMIsRejectedAsSuch() {
        XCTAssertThrowsError(try KVMSystem(path: "/dev/null")) { error in
            XCTAssertEqual(error as? KVMError, .notKVMDevice(path: "/dev/null", errno: ENOTTY))
            XCTAssertTrue("\(error)".hasPrefix("/dev/null is not a KVM device"), "\(error)")
        }
    }

    func testHostCapabilitiesAreReadFromKVM() throws {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        XCTAssertEqual(caps.apiVersion, 12)
        XCTAssertGreaterThanOrEqual(caps.usableVCPUs, 1)
    }

    func testDirtyRingMustBeAPowerOfTwoTheKernelAccepts() throws {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        guard caps.dirtyRingAcqRelBytes > 0 || caps.dirtyRingBytes > 0 else { throw XCTSkip("host KVM has no dirty ring") }
        let vm = try system.createVM()
        let acqRel = caps.dirtyRingAcqRelBytes > 0
        XCTAssertThrowsError(try vm.enableDirtyRing(bytes: 3000, acquireRelease: acqRel)) { error in
            guard case .ioctl(.enableCap(let cap, let bytes), let errno)? = error as? KVMError else { return XCTFail("\(error)") }
            XCTAssertEqual(cap, acqRel ? .dirtyLogRingAcqRel : .dirtyLogRing)
            XCTAssertEqual(bytes, 3000)
            XCTAssertEqual(errno, EINVAL, "the errno is kept")
            XCTAssertTrue((error as? KVMError)?.isDirtyRingRefusal ?? false)
        }
    }
}

import KVM
import TestSupport
import XCTest

final class KVMSystemTests: XCTestCase {
    func testMissingDeviceSaysThereIsNoKVM() {
        XCTAssertThrowsError(try KVMSystem(path: "/nonexistent/kvm")) { error in
            XCTAssertEqual(error as? KVMError, .deviceMissing(path: "/nonexistent/kvm"))
            XCTAssertTrue("\(error)".contains("has no KVM"))
        }
    }

    func testADeviceThatIsNotKVMIsRejected() {
        XCTAssertThrowsError(try KVMSystem(path: "/dev/null"))
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
        XCTAssertThrowsError(try vm.enableDirtyRing(bytes: 3000, acquireRelease: caps.dirtyRingAcqRelBytes > 0)) { error in
            XCTAssertNotNil((error as? KVMError)?.errno, "the errno is kept")
        }
    }
}

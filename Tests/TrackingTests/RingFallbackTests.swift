import Display
import KVM
import Machine
import TestSupport
import Tracking
import XCTest

/// When the kernel refuses the dirty ring at KVM_ENABLE_CAP, the session falls back to the bitmap.
final class RingFallbackTests: XCTestCase {
    func testARingSizeTheKernelRefusesFallsBackToTheBitmapAndSaysWhy() throws {
        let system = try requireKVM()
        let real = try HostCapabilities(system: system)
        guard TrackingPlan.ringEntryRange(real) != nil else { throw XCTSkip("host KVM has no dirty ring") }
        // Claim a ring 1024 times larger than the kernel's limit, so the plan asks for one
        // and KVM_ENABLE_CAP refuses it.
        let huge = max(real.dirtyRingAcqRelBytes, real.dirtyRingBytes) * 1024
        let claimed = HostCapabilities(apiVersion: 12, dirtyRingAcqRelBytes: real.dirtyRingAcqRelBytes > 0 ? huge : 0,
                                       dirtyRingBytes: huge, manualProtect: real.manualProtect,
                                       recommendedVCPUs: real.recommendedVCPUs, maxVCPUs: real.maxVCPUs)
        let plan = try TrackingPlan.make(mode: .ring, ringEntries: huge / HostCapabilities.ringEntryBytes, caps: claimed, migration: false)
        XCTAssertEqual(plan.mode, .ring)
        let config = try testConfig("pattern", width: 128, height: 64, frames: 3)
        let session = try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16), migration: false)
        XCTAssertEqual(session.plan.mode, .bitmap)
        XCTAssertTrue(session.plan.reason.contains("refused the dirty ring") && session.plan.reason.contains("KVM_ENABLE_CAP"), session.plan.reason)
        session.machine.start()
        guard case .framesCompleted? = session.machine.waitForEnd() else { return XCTFail("the bitmap-mode machine runs") }
        XCTAssertGreaterThan(try session.sync(), 0, "the bitmap harvest reports the drawn tiles")
    }
}

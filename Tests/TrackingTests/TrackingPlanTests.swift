import KVM
@testable import Tracking
import XCTest

/// Mode selection and the list/bitmap split's pure logic, without KVM.
final class TrackingPlanTests: XCTestCase {
    let host = HostCapabilities(apiVersion: 12, dirtyRingAcqRelBytes: 1 << 20, dirtyRingBytes: 1 << 20, manualProtect: 3, recommendedVCPUs: 2, maxVCPUs: 2)

    func testRingPrefersAcquireRelease() throws {
        let plan = try TrackingPlan.make(mode: .ring, ringEntries: 4096, caps: host, migration: false)
        XCTAssertEqual(plan.logging, .ring(entries: 4096, acquireRelease: true))
    }

    func testRingFallsBackToPlainRingThenToBitmap() throws {
        var caps = host
        caps.dirtyRingAcqRelBytes = 0
        XCTAssertEqual(try TrackingPlan.make(mode: .ring, ringEntries: 4096, caps: caps, migration: false).logging,
                       .ring(entries: 4096, acquireRelease: false))
        caps.dirtyRingBytes = 0
        let plan = try TrackingPlan.make(mode: .ring, ringEntries: 4096, caps: caps, migration: false)
        XCTAssertEqual(plan.mode, .bitmap)
        XCTAssertTrue(plan.reason.contains("no dirty ring"), "the fallback says why: \(plan.reason)")
    }

    func testRingSizeMustBeAPowerOfTwoWithinTheKernelsBounds() {
        for bad in [0, 100, 128, 3000, 131072] {
            XCTAssertThrowsError(try TrackingPlan.make(mode: .ring, ringEntries: bad, caps: host, migration: false)) {
                XCTAssertTrue("\($0)".contains("256 to 65536"), "\($0)")
            }
        }
        XCTAssertNoThrow(try TrackingPlan.make(mode: .ring, ringEntries: 256, caps: host, migration: false))
        XCTAssertNoThrow(try TrackingPlan.make(mode: .ring, ringEntries: 65536, caps: host, migration: false))
    }

    func testBitmapUsesClearDirtyLogWithManualProtect() throws {
        XCTAssertEqual(try TrackingPlan.make(mode: .bitmap, ringEntries: 4096, caps: host, migration: false).logging, .bitmap(manualProtect: 1))
        var caps = host
        caps.manualProtect = 0
        XCTAssertEqual(try TrackingPlan.make(mode: .bitmap, ringEntries: 4096, caps: caps, migration: false).logging, .bitmap(manualProtect: 0))
    }

    func testCompareAndFullHaveNoMigrationList() {
        for mode in [TrackingMode.compare, .full] {
            XCTAssertThrowsError(try TrackingPlan.make(mode: mode, ringEntries: 4096, caps: host, migration: true)) {
                XCTAssertTrue("\($0)".contains("no migration list"), "\($0)")
            }
        }
    }

    func testPageBatchDeduplicatesAndEmptiesCompletely() {
        var batch = PageBatch(slot: 1, pageCount: 200)
        for p: UInt64 in [5, 7, 5, 199, 7, 5, 300] { batch.add(p) }
        XCTAssertEqual(batch.withPages { Array($0) }, [5, 7, 199])
        XCTAssertEqual(batch.duplicates, 3)
        XCTAssertEqual(batch.outOfRange, 1)
        batch.reset()
        XCTAssertEqual(batch.count, 0)
        batch.add(5)
        XCTAssertEqual(batch.withPages { Array($0) }, [5], "after reset a page counts as new again")
    }

    func testPageBatchReadsADirtyLogBitmap() {
        var batch = PageBatch(slot: 0, pageCount: 256)
        let words: [UInt64] = [0b1011, 0, 1 << 63, 1]
        words.withUnsafeBufferPointer { batch.addBitmap($0) }
        XCTAssertEqual(batch.withPages { Array($0) }, [0, 1, 3, 191, 192])
    }

    func testMigrationListKeepsEachPageOncePerRound() {
        let list = MigrationDirtyList(slotPageCounts: [0: 100, 1: 10])
        [3, 4, 3].map(UInt64.init).withUnsafeBufferPointer { list.consume(slot: 0, pages: $0) }
        [4, 9].map(UInt64.init).withUnsafeBufferPointer { list.consume(slot: 0, pages: $0) }
        [2].map(UInt64.init).withUnsafeBufferPointer { list.consume(slot: 1, pages: $0) }
        XCTAssertTrue(list.isListed(slot: 0, page: 9))
        let r0 = list.endRound()
        XCTAssertEqual(r0.number, 0)
        XCTAssertEqual(r0.pages[0], [3, 4, 9])
        XCTAssertEqual(r0.pages[1], [2])
        XCTAssertEqual(r0.total, 4)
        XCTAssertFalse(list.isListed(slot: 0, page: 9), "a new round starts empty")
        [9].map(UInt64.init).withUnsafeBufferPointer { list.consume(slot: 0, pages: $0) }
        XCTAssertEqual(list.endRound().pages[0], [9])
    }
}

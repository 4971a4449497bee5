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

    func testAMigrationSubscriberStartsWithEveryPageThenKeepsEachDirtyPageOnce() {
        let sub = MigrationSubscriber(pageCounts: [(0, 100), (1, 10)])
        let first = sub.take()
        XCTAssertEqual(first.total, 110, "a new subscriber's first take is the whole memory")
        XCTAssertEqual(first.pages(slot: 1), Array(0..<10))
        [3, 4, 3].map(UInt64.init).withUnsafeBufferPointer { sub.consume(slot: 0, pages: $0) }
        [4, 9, 500].map(UInt64.init).withUnsafeBufferPointer { sub.consume(slot: 0, pages: $0) }
        [2].map(UInt64.init).withUnsafeBufferPointer { sub.consume(slot: 1, pages: $0) }
        XCTAssertTrue(sub.pending.contains(slot: 0, page: 9))
        let r1 = sub.take()
        XCTAssertEqual(sub.round, 2)
        XCTAssertEqual(r1.pages(slot: 0), [3, 4, 9], "ascending, each once, nothing past the slot")
        XCTAssertEqual(r1.pages(slot: 1), [2])
        XCTAssertEqual(r1.total, 4)
        XCTAssertTrue(sub.pending.isEmpty, "a take starts an empty set")
    }

    func testPagesGivenBackAfterAFailedSendAreMergedIntoTheNextTake() {
        let sub = MigrationSubscriber(pageCounts: [(0, 300)])
        _ = sub.take()
        [1, 200].map(UInt64.init).withUnsafeBufferPointer { sub.consume(slot: 0, pages: $0) }
        let failed = sub.take()
        [200, 299].map(UInt64.init).withUnsafeBufferPointer { sub.consume(slot: 0, pages: $0) }
        sub.giveBack(failed)
        let retry = sub.take()
        XCTAssertEqual(retry.pages(slot: 0), [1, 200, 299], "given-back pages join those dirtied meanwhile")
        XCTAssertEqual(retry.total, 3)
    }
}

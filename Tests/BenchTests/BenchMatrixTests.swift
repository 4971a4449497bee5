@testable import Bench
import Foundation
import TestSupport
import Tracking
import XCTest

final class BenchMatrixTests: XCTestCase {
    func testTheDefaultMatrixRunsCompareAndFullOnlyAtTheSmallestRAMSize() {
        let plan = BenchPlan()
        let groups = plan.groups()
        // 9 guests x 4 resolutions with 1 vCPU: 5 modes at 256M, ring and bitmap at 4G and
        // 16G; with 2 vCPUs (all but doom): 5 modes at 256M.
        XCTAssertEqual(plan.cellCount, 9 * 4 * (5 + 2 + 2) + 8 * 4 * 5)
        for g in groups where g.ramBytes != 256 << 20 {
            XCTAssertEqual(g.cells.map(\.mode), [.ring, .bitmap])
            XCTAssertTrue(g.cells.allSatisfy(\.migration))
            XCTAssertEqual(g.cpus, 1)
        }
        let first = groups[0]
        XCTAssertEqual(first.cells.map(\.mode), TrackingMode.fixed + [.auto])
        XCTAssertEqual(first.cells.map(\.migration), [true, true, false, false, false])
        XCTAssertEqual(groups.filter { $0.cpus == 2 }.count, 8 * 4)
        XCTAssertTrue(groups.filter { $0.cpus == 2 }.allSatisfy { $0.cells.allSatisfy { $0.cpus == 2 } })
        XCTAssertTrue(plan.workloads.contains { $0.guest == "alternate" && $0.arguments == "period=60" })
        // Indices run on without gaps.
        var next = 0
        for g in groups {
            XCTAssertEqual(g.firstIndex, next)
            next += g.cells.count
        }
    }

    func testWithoutAMigrationListEveryModeRunsAtTheSmallestRAMSizeOnly() {
        var plan = BenchPlan()
        plan.migration = false
        XCTAssertEqual(plan.cellCount, 9 * 4 * 5 + 8 * 4 * 5)
        XCTAssertTrue(plan.groups().allSatisfy { $0.ramBytes == 256 << 20 })
    }

    func testTheQuickMatrixIsDesktopPlasmaAndBounce16AtTwoResolutions() {
        let plan = BenchPlan.quick
        XCTAssertEqual(plan.workloads.map(\.label), ["desktop", "plasma", "bounce16", "alternate10"])
        XCTAssertEqual(plan.cellCount, 4 * 2 * 5 * 2)
    }

    func testFiltersParseAndRejectBadValuesWithOneLine() throws {
        XCTAssertEqual(try BenchFilters.workloads("desktop, bounce16").map(\.label), ["desktop", "bounce16"])
        XCTAssertEqual(try BenchFilters.workloads("bounce").map(\.arguments), ["sprites=4", "sprites=16", "sprites=64"])
        XCTAssertEqual(try BenchFilters.resolutions("640x480,1920X1080"),
                       [BenchResolution(width: 640, height: 480), BenchResolution(width: 1920, height: 1080)])
        XCTAssertEqual(try BenchFilters.modes("ring,full"), [.ring, .full])
        XCTAssertEqual(try BenchFilters.ramSizes("256M,16G"), [256 << 20, 16 << 30])

        try assertEachThrowsOneLine([
            ({ try BenchFilters.workloads("desktop,nope") }, "'nope'"),
            ({ try BenchFilters.workloads("bounce0") }, "'bounce0'"),
            ({ try BenchFilters.resolutions("1280x") }, "'1280x'"),
            ({ try BenchFilters.resolutions("10x10") }, "'10x10'"),
            ({ try BenchFilters.modes("ring,dirty") }, "'dirty'"),
            ({ try BenchFilters.ramSizes("3M") }, "'3M'"),
            ({ try BenchFilters.ramSizes("") }, "names no size"),
        ])
    }
}

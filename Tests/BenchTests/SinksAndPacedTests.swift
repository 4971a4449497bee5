@testable import Bench
import Foundation
import TestSupport
import Tracking
import XCTest

/// The sink-count dimension: plan, options, record field, and a real run.
final class SinkCountPlanTests: XCTestCase {
    func testSinkCountsMultiplyTheCellsAndTakeTurnsWithTheModesOfAGroup() {
        var plan = BenchPlan()
        plan.workloads = [BenchWorkload.named("desktop")!, BenchWorkload.named("plasma")!]
        plan.resolutions = [BenchResolution(width: 1920, height: 1080)]
        plan.modes = [.ring, .bitmap]
        plan.ramSizes = [256 << 20]
        plan.sinkCounts = [1, 16]
        let groups = plan.groups()
        XCTAssertEqual(groups.count, 2, "sink counts share a group: they are measured side by side")
        XCTAssertEqual(plan.cellCount, 2 * 2 * 2)
        XCTAssertEqual(groups[0].cells.map(\.mode), [.ring, .ring, .bitmap, .bitmap])
        XCTAssertEqual(groups[0].cells.map(\.sinks), [1, 16, 1, 16])
        XCTAssertEqual(groups[1].firstIndex, 4)
        XCTAssertEqual(BenchPlan().sinkCounts, [1], "one sink unless asked")
        XCTAssertEqual(BenchPlan().cellCount, 7 * 4 * (4 + 2 + 2), "the default matrix does not grow")
    }

    func testSinkOptionsParseAndRejectBadValuesWithOneLine() throws {
        XCTAssertEqual(try BenchFilters.sinkCounts("1,16"), [1, 16])
        XCTAssertEqual(try BenchFilters.sinkCounts("16, 1,16"), [16, 1])
        XCTAssertEqual(try BenchFilters.sinkCounts("64"), [64])

        func message(_ body: () throws -> Any) -> String? {
            do { _ = try body(); return nil } catch { return "\(error)" }
        }
        for (bad, mentions) in [
            (message { try BenchFilters.sinkCounts("0") }, "'0' is not a sink count"),
            (message { try BenchFilters.sinkCounts("1,65") }, "'65' is not a sink count"),
            (message { try BenchFilters.sinkCounts("two") }, "'two'"),
            (message { try BenchFilters.sinkCounts(",") }, "names no sink count"),
        ] {
            let text = try XCTUnwrap(bad, "expected an error mentioning \(mentions)")
            XCTAssertTrue(text.contains(mentions), text)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)")
        }
    }

    func testTheRunnerRejectsOutOfRangeSinkCountsBeforeAnythingRuns() throws {
        _ = try requireKVM()
        for (change, mentions) in [
            ({ (p: inout BenchPlan) in p.sinkCounts = [0] }, "--sinks: 0"),
            ({ (p: inout BenchPlan) in p.sinkCounts = [1, 65] }, "--sinks: 65"),
            ({ (p: inout BenchPlan) in p.sinkCounts = [] }, "--sinks"),
        ] {
            var plan = BenchPlan()
            change(&plan)
            XCTAssertThrowsError(try BenchRunner(plan: plan)) { XCTAssertTrue("\($0)".contains(mentions), "\($0)") }
        }
    }
}

final class SinkRecordTests: XCTestCase {
    func testOlderJSONWithoutSinksReadsBackWithOneSink() throws {
        let old = """
        [{"guest": "idle", "width": 640, "height": 480, "mode": "ring", "cpus": 1, "ram_bytes": 268435456, "frames": 200,
          "display_fps": 500000, "host_us_median": 2, "present_us": 0.3, "latency_p50_us": 3, "latency_p99_us": 4}]
        """
        let back = try BenchFiles.records(fromJSON: Data(old.utf8))
        XCTAssertEqual(back.count, 1)
        XCTAssertEqual(back[0].sinks, 1)
        XCTAssertEqual(back[0].presentMicros, 0.3)
        var r = back[0]
        r.sinks = 16
        XCTAssertEqual(try BenchFiles.records(fromJSON: Data(BenchFiles.json([r]).utf8)).first?.sinks, 16)
    }
}

/// Every cell's free-run phase reports something, even when the guest made no frame.
final class FreeRunFindingTests: XCTestCase {
    func testAFreeRunWithoutLatencySaysWhy() throws {
        let starved = try XCTUnwrap(FreeRunProbe.finding(frames: 0, seconds: 0.6, latencySamples: 0))
        XCTAssertTrue(starved.contains("no frame") && starved.contains("starved"), starved)
        let unsynced = try XCTUnwrap(FreeRunProbe.finding(frames: 12, seconds: 0.6, latencySamples: 0))
        XCTAssertTrue(unsynced.contains("12 frames") && unsynced.contains("no latency"), unsynced)
        XCTAssertNil(FreeRunProbe.finding(frames: 12, seconds: 0.6, latencySamples: 3))
        XCTAssertNil(FreeRunProbe.finding(frames: 0, seconds: 0, latencySamples: 0), "nothing measured, nothing found")
    }

    func testAStarvedGuestIsARecordedZeroNotAMissingValue() throws {
        var r = BenchRecord(guest: "plasma", width: 3840, height: 2160, mode: "compare", cpus: 1, ramBytes: 256 << 20, frames: 20)
        r.freeRunGuestFPS = 0
        let row = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(BenchFiles.json([r]).utf8)) as? [[String: Any]])?.first)
        XCTAssertEqual(row["free_run_guest_fps"] as? Int, 0)
        XCTAssertTrue(row["latency_p50_us"] is NSNull)
        XCTAssertEqual(try BenchFiles.records(fromJSON: Data(BenchFiles.json([r]).utf8)), [r])
    }
}

/// Sink counts on a real guest (skipped without /dev/kvm).
final class SinkCountRunTests: XCTestCase {
    func testEachSinkCountIsACellWithItsReadsTimed() throws {
        _ = try requireKVM()
        var plan = BenchPlan()
        plan.workloads = [BenchWorkload.named("bounce4")!]
        plan.resolutions = [BenchResolution(width: 640, height: 480)]
        plan.modes = [.ring]
        plan.ramSizes = [16 << 20]
        plan.frames = 6
        plan.warmupFrames = 2
        plan.rounds = 2
        plan.freeRunSeconds = 0.05
        plan.freeRunWarmup = 0.01
        plan.sinkCounts = [1, 3]
        let summary = try BenchRunner(plan: plan).run()
        XCTAssertTrue(summary.failures.isEmpty)
        XCTAssertEqual(summary.records.map(\.sinks), [1, 3])
        for r in summary.records {
            XCTAssertNotNil(r.presentMicros, "the sinks' reads are timed")
            XCTAssertNotNil(r.harvestMicros)
        }
    }
}

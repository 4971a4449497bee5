@testable import Bench
import Foundation
import TestSupport
import Tracking
import XCTest

/// The sink-count dimension and the paced phase: plan, options, record fields, and real runs.
final class SinkCountPlanTests: XCTestCase {
    func testSinkCountsMultiplyTheCellsAndTakeTurnsWithTheModesOfAGroup() {
        var plan = BenchPlan()
        plan.workloads = [BenchWorkload.named("desktop")!, BenchWorkload.named("plasma")!]
        plan.resolutions = [BenchResolution(width: 1920, height: 1080)]
        plan.modes = [.ring, .bitmap]
        plan.ramSizes = [256 << 20]
        plan.sinkCounts = [1, 16]
        plan.cpus = 1
        let groups = plan.groups()
        XCTAssertEqual(groups.count, 2, "sink counts share a group: they are measured side by side")
        XCTAssertEqual(plan.cellCount, 2 * 2 * 2)
        XCTAssertEqual(groups[0].cells.map(\.mode), [.ring, .ring, .bitmap, .bitmap])
        XCTAssertEqual(groups[0].cells.map(\.sinks), [1, 16, 1, 16])
        XCTAssertEqual(groups[1].firstIndex, 4)
        XCTAssertEqual(BenchPlan().sinkCounts, [1], "one sink unless asked")
        XCTAssertEqual(BenchPlan().cellCount, 8 * 4 * (5 + 2 + 2) + 8 * 4 * 5 + 1 * 4 * (5 + 2 + 2),
                       "the default matrix does not grow (doom joins the 1-vCPU rows only)")
    }

    func testThePacedPhaseDefaultsToTheRatesUsersRun() {
        XCTAssertEqual(BenchPlan().pacedRates.map(\.description), ["60/60", "60/144", "144/60"])
        XCTAssertEqual(BenchPlan().pacedSeconds, 1)
        XCTAssertEqual(BenchPlan.quick.pacedSeconds, 0.5)
        XCTAssertEqual(BenchRatePair(guestHz: 60, displayHz: 144).displayPeriodMicros, 1e6 / 144, accuracy: 1e-9)
        XCTAssertEqual(BenchRatePair(guestHz: 144, displayHz: 60).fieldKey, "144_60")
    }

    func testSinkAndRateOptionsParseAndRejectBadValuesWithOneLine() throws {
        XCTAssertEqual(try BenchFilters.sinkCounts("1,16"), [1, 16])
        XCTAssertEqual(try BenchFilters.sinkCounts("16, 1,16"), [16, 1])
        XCTAssertEqual(try BenchFilters.sinkCounts("64"), [64])
        XCTAssertEqual(try BenchFilters.ratePairs("144/60,60/60,60/144,60/60").map(\.description), ["60/60", "60/144", "144/60"])

        try assertEachThrowsOneLine([
            ({ try BenchFilters.sinkCounts("0") }, "'0' is not a sink count"),
            ({ try BenchFilters.sinkCounts("1,65") }, "'65' is not a sink count"),
            ({ try BenchFilters.sinkCounts("two") }, "'two'"),
            ({ try BenchFilters.sinkCounts(",") }, "names no sink count"),
            ({ try BenchFilters.ratePairs("60x60") }, "'60x60' is not a rate pair"),
            ({ try BenchFilters.ratePairs("0/60") }, "'0/60'"),
            ({ try BenchFilters.ratePairs("60/1001") }, "'60/1001'"),
            ({ try BenchFilters.ratePairs("60/60/60") }, "'60/60/60'"),
        ])
    }

    func testTheRunnerRejectsOutOfRangePacingAndSinkCountsBeforeAnythingRuns() throws {
        _ = try requireKVM()
        for (change, mentions) in [
            ({ (p: inout BenchPlan) in p.sinkCounts = [0] }, "--sinks: 0"),
            ({ (p: inout BenchPlan) in p.sinkCounts = [1, 65] }, "--sinks: 65"),
            ({ (p: inout BenchPlan) in p.sinkCounts = [] }, "--sinks"),
            ({ (p: inout BenchPlan) in p.pacedSeconds = -1 }, "--paced-seconds -1"),
            ({ (p: inout BenchPlan) in p.pacedRates = [] }, "--paced-rates"),
            ({ (p: inout BenchPlan) in p.pacedRates = [BenchRatePair(guestHz: 0, displayHz: 60)] }, "'0/60'"),
        ] {
            var plan = BenchPlan()
            change(&plan)
            XCTAssertThrowsError(try BenchRunner(plan: plan)) { XCTAssertTrue("\($0)".contains(mentions), "\($0)") }
        }
        var plan = BenchPlan()
        plan.pacedSeconds = 0
        plan.pacedRates = []
        XCTAssertNoThrow(try BenchRunner(plan: plan), "no paced phase needs no rate pair")
    }
}

final class SinkAndPacedRecordTests: XCTestCase {
    func sample() -> BenchRecord {
        var r = BenchRecord(guest: "desktop", width: 1280, height: 800, mode: "ring", cpus: 1, ramBytes: 256 << 20, frames: 20)
        r.sinks = 16
        r.hostMedianMicros = 20; r.presentMicros = 7.5
        r.freeRunGuestFPS = 0
        r.paced = [
            BenchPacedResult(rates: BenchRatePair(guestHz: 60, displayHz: 60), guestFPS: 59.9, samples: 20, latencyP50Micros: 80, latencyP99Micros: 300),
            BenchPacedResult(rates: BenchRatePair(guestHz: 144, displayHz: 60), guestFPS: 143, samples: 0),
        ]
        return r
    }

    func testPacedResultsAreFourFieldsPerRatePairAfterTheOthers() throws {
        let names = sample().fields.map(\.0)
        XCTAssertEqual(Array(names.prefix(BenchRecord.fieldNames.count)), BenchRecord.fieldNames)
        XCTAssertEqual(Array(names.dropFirst(BenchRecord.fieldNames.count)), [
            "paced_60_60_guest_fps", "paced_60_60_samples", "paced_60_60_latency_p50_us", "paced_60_60_latency_p99_us",
            "paced_144_60_guest_fps", "paced_144_60_samples", "paced_144_60_latency_p50_us", "paced_144_60_latency_p99_us",
        ])
        let row = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(BenchFiles.json([sample()]).utf8)) as? [[String: Any]])?.first)
        XCTAssertEqual(row["sinks"] as? Int, 16)
        XCTAssertEqual(row["free_run_guest_fps"] as? Int, 0, "a starved guest is a recorded 0, not a missing value")
        XCTAssertEqual(row["paced_60_60_samples"] as? Int, 20)
        XCTAssertEqual(row["paced_60_60_latency_p99_us"] as? Int, 300)
        XCTAssertTrue(row["paced_144_60_latency_p50_us"] is NSNull)
    }

    func testJSONWithSinksAndPacedFieldsReadsBack() throws {
        let back = try BenchFiles.records(fromJSON: Data(BenchFiles.json([sample()]).utf8))
        XCTAssertEqual(back, [sample()])
    }

    func testOlderJSONWithoutTheNewFieldsReadsBackWithOneSink() throws {
        let old = """
        [{"guest": "idle", "width": 640, "height": 480, "mode": "ring", "cpus": 1, "ram_bytes": 268435456, "frames": 200,
          "display_fps": 500000, "host_us_median": 2, "present_us": 0.3, "latency_p50_us": 3, "latency_p99_us": 4}]
        """
        let back = try BenchFiles.records(fromJSON: Data(old.utf8))
        XCTAssertEqual(back.count, 1)
        XCTAssertEqual(back[0].sinks, 1)
        XCTAssertNil(back[0].freeRunGuestFPS)
        XCTAssertEqual(back[0].paced, [])
        XCTAssertEqual(back[0].presentMicros, 0.3)
    }

    func testCSVHeaderHoldsEveryRecordsFieldsAndLeavesOthersEmpty() {
        var plain = BenchRecord(guest: "idle", width: 64, height: 64, mode: "full", cpus: 1, ramBytes: 8 << 20, frames: 1)
        plain.sinks = 2
        let lines = BenchFiles.csv([plain, sample()]).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(header, sample().fields.map(\.0))
        let first = lines[1].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(first.count, header.count)
        XCTAssertEqual(first[header.firstIndex(of: "sinks")!], "2")
        XCTAssertEqual(first[header.firstIndex(of: "paced_60_60_samples")!], "", "a record without the pair leaves it empty")
        let second = lines[2].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(second[header.firstIndex(of: "paced_60_60_samples")!], "20")
    }
}

/// Every cell's free-run phase reports something, even when the guest made no frame.
final class FreeRunFindingTests: XCTestCase {
    func testAFreeRunWithoutLatencySaysWhy() throws {
        let starved = try XCTUnwrap(FreeRunProbe.finding(frames: 0, seconds: 0.6, latencySamples: 0, busySyncs: 0))
        XCTAssertTrue(starved.contains("no frame") && starved.contains("starved"), starved)
        XCTAssertFalse(starved.contains("drawing"), starved)
        let drawing = try XCTUnwrap(FreeRunProbe.finding(frames: 0, seconds: 0.6, latencySamples: 0, busySyncs: 39_203))
        XCTAssertTrue(drawing.contains("39203 syncs found it drawing"), drawing)
        let unsynced = try XCTUnwrap(FreeRunProbe.finding(frames: 12, seconds: 0.6, latencySamples: 0, busySyncs: 5))
        XCTAssertTrue(unsynced.contains("12 frames") && unsynced.contains("no latency"), unsynced)
        XCTAssertNil(FreeRunProbe.finding(frames: 12, seconds: 0.6, latencySamples: 3, busySyncs: 5))
        XCTAssertNil(FreeRunProbe.finding(frames: 0, seconds: 0, latencySamples: 0, busySyncs: 0), "nothing measured, nothing found")
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

/// Sinks and the paced phase on a real guest (skipped without /dev/kvm).
final class SinksAndPacedRunTests: XCTestCase {
    func tinyPlan(_ guest: String) -> BenchPlan {
        var plan = BenchPlan()
        plan.workloads = [BenchWorkload.named(guest)!]
        plan.resolutions = [BenchResolution(width: 640, height: 480)]
        plan.modes = [.ring]
        plan.cpus = 1
        plan.ramSizes = [16 << 20]
        plan.frames = 6
        plan.warmupFrames = 2
        plan.rounds = 2
        plan.freeRunSeconds = 0.05
        plan.freeRunWarmup = 0.01
        return plan
    }

    /// desktop paced at 60 Hz, synced as for a 60 Hz display: latency is measured, one sample
    /// per frame at most, and the guest is paced. (How long the latency is, is the benchmark's
    /// to report: on a loaded host a test cannot promise it.)
    func testAOneCellPacedPhaseWithDesktopAt60On60MeasuresLatencyWithinAFrame() throws {
        _ = try requireKVM()
        var plan = tinyPlan("desktop")
        plan.pacedSeconds = 0.5
        plan.pacedWarmup = 0.1
        plan.pacedRates = [BenchRatePair(guestHz: 60, displayHz: 60)]
        XCTAssertEqual(plan.cellCount, 1)
        var notes: [String] = []
        var events = BenchEvents()
        events.cellFinished = { r, _ in notes += r.notes }
        let summary = try BenchRunner(plan: plan).run(events)
        XCTAssertTrue(summary.failures.isEmpty, summary.failures.map { $0.failure ?? "" }.joined(separator: "; "))
        let record = try XCTUnwrap(summary.records.first)
        let paced = try XCTUnwrap(record.paced.first)
        XCTAssertEqual(record.paced.count, 1)
        XCTAssertEqual(paced.rates, BenchRatePair(guestHz: 60, displayHz: 60))
        XCTAssertGreaterThan(paced.samples, 0)
        XCTAssertGreaterThan(try XCTUnwrap(paced.latencyP50Micros), 0)
        // Paced for real: pacing never releases a frame early except the one after a stall of
        // over a period, so no window can hold more than twice the rate's frames (free-running,
        // desktop draws thousands a second). Load only ever slows a paced guest down.
        let fps = try XCTUnwrap(paced.guestFPS)
        XCTAssertLessThanOrEqual(fps, 2 * 60 + 2 / 0.5, "the guest is paced at 60 Hz")
        XCTAssertGreaterThan(fps, 0)
        // "paced 60/60 (sync rate 90/s): 31 frames, 30 syncs; ...": the frames of the measured window.
        let line = try XCTUnwrap(notes.first { $0.hasPrefix("paced 60/60") }, "\(notes)")
        let frames = try XCTUnwrap(line.split(separator: ":").dropFirst().first.flatMap { Int($0.split(separator: " ").first ?? "") }, line)
        XCTAssertLessThanOrEqual(paced.samples, frames + 1, "one sample per frame at most (and the doorbell just before the window): \(line)")
    }

    func testEachSinkCountIsACellAndNoPacedPhaseMeansNoPacedFields() throws {
        _ = try requireKVM()
        var plan = tinyPlan("bounce4")
        plan.sinkCounts = [1, 3]
        plan.pacedSeconds = 0
        let summary = try BenchRunner(plan: plan).run()
        XCTAssertTrue(summary.failures.isEmpty)
        XCTAssertEqual(summary.records.map(\.sinks), [1, 3])
        for r in summary.records {
            XCTAssertNotNil(r.presentMicros, "the sinks' reads are timed")
            XCTAssertNotNil(r.harvestMicros)
            XCTAssertEqual(r.paced, [])
            XCTAssertFalse(r.fields.contains { $0.0.hasPrefix("paced_") })
        }
    }
}

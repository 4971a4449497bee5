@testable import Bench
import Foundation
import TestSupport
import Tracking
import XCTest

/// The runner on a real guest: a tiny matrix end to end (skipped without /dev/kvm).
final class BenchRunnerTests: XCTestCase {
    func testATinyMatrixGivesOneCompleteRecordPerCellInMatrixOrder() throws {
        _ = try requireKVM()
        var plan = BenchPlan()
        plan.workloads = [BenchWorkload.named("bounce4")!]
        plan.resolutions = [BenchResolution(width: 320, height: 200)]
        plan.ramSizes = [16 << 20, 32 << 20]
        plan.modes = TrackingMode.fixed
        plan.cpus = 1
        plan.frames = 6
        plan.warmupFrames = 2
        plan.rounds = 2
        plan.freeRunSeconds = 0.1
        plan.freeRunWarmup = 0.02
        plan.pacedSeconds = 0.3
        plan.pacedWarmup = 0.02
        let runner = try BenchRunner(plan: plan)
        var started = 0
        var finished: [Int] = []
        var notes: [String: [String]] = [:]
        var events = BenchEvents()
        events.groupStarted = { _, total in started += 1; XCTAssertEqual(total, 6) }
        events.cellFinished = { r, _ in
            finished.append(r.index)
            notes[r.cell.mode.rawValue, default: []] += r.notes
            XCTAssertNil(r.failure, r.failure ?? "")
        }
        let summary = runner.run(events)
        XCTAssertEqual(started, 2)
        XCTAssertEqual(finished, Array(0..<6))
        XCTAssertFalse(summary.interrupted)
        XCTAssertEqual(summary.records.map(\.mode), ["ring", "bitmap", "compare", "full", "ring", "bitmap"])
        for r in summary.records {
            XCTAssertEqual(r.frames, 6, r.mode)
            XCTAssertNotNil(r.hostMedianMicros, r.mode)
            XCTAssertNotNil(r.guestFPS, r.mode)
            XCTAssertGreaterThan(r.dirtyTiles ?? 0, 0, "bounce moves sprites every frame: \(r.mode)")
            XCTAssertGreaterThan(r.bytesCopied ?? 0, 0, r.mode)
            // Recorded either way; a 0 (the guest got no frame into its 50 ms turns on a busy
            // host) comes with the finding that says so.
            let fps = try XCTUnwrap(r.freeRunGuestFPS, "free-run guest fps is recorded: \(r.mode)")
            XCTAssertTrue(fps > 0 || (notes[r.mode] ?? []).contains { $0.hasPrefix("FINDING free-run: the guest made no frame") },
                          "a free-run fps of 0 without its finding: \(r.mode) \(notes[r.mode] ?? [])")
            XCTAssertEqual(r.paced.map(\.rates), BenchRatePair.defaults, "every cell is paced at every pair: \(r.mode)")
            XCTAssertEqual(r.sinks, 1)
        }
        // Full repaints every tile of 320x200 with 64x16 tiles: 5 x 13.
        XCTAssertEqual(summary.records[3].dirtyTiles, 65)
        XCTAssertEqual(summary.records[2].dirtyPages, 0, "compare logs no pages")
    }

    func testBadInputFailsBeforeAnythingRuns() throws {
        _ = try requireKVM()
        var plan = BenchPlan()
        plan.ringEntries = 1000
        XCTAssertThrowsError(try BenchRunner(plan: plan)) { XCTAssertTrue("\($0)".contains("--ring-entries 1000"), "\($0)") }
        plan = BenchPlan()
        plan.cpus = 99
        XCTAssertThrowsError(try BenchRunner(plan: plan)) { XCTAssertTrue("\($0)".contains("--cpus 99"), "\($0)") }
    }
}

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

        func message(_ body: () throws -> Any) -> String? {
            do { _ = try body(); return nil } catch { return "\(error)" }
        }
        for (bad, mentions) in [
            (message { try BenchFilters.workloads("desktop,nope") }, "'nope'"),
            (message { try BenchFilters.workloads("bounce0") }, "'bounce0'"),
            (message { try BenchFilters.resolutions("1280x") }, "'1280x'"),
            (message { try BenchFilters.resolutions("10x10") }, "'10x10'"),
            (message { try BenchFilters.modes("ring,dirty") }, "'dirty'"),
            (message { try BenchFilters.ramSizes("3M") }, "'3M'"),
            (message { try BenchFilters.ramSizes("") }, "names no size"),
        ] {
            let text = try XCTUnwrap(bad, "expected an error mentioning \(mentions)")
            XCTAssertTrue(text.contains(mentions), text)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)")
        }
    }
}

final class BenchStatisticsTests: XCTestCase {
    func testNearestRankPercentiles() {
        let values = (1...100).map(Double.init)
        XCTAssertEqual(percentile(sorted: values, 0.5), 50)
        XCTAssertEqual(percentile(sorted: values, 0.99), 99)
        XCTAssertEqual(percentile(sorted: values, 1), 100)
        XCTAssertEqual(percentile(sorted: [7], 0.99), 7)
        XCTAssertNil(percentile(sorted: [], 0.5))
    }

    func testTheLatencyHistogramIsWithinThreePercent() {
        var h = LatencyHistogram()
        for v in 1...10_000 { h.record(UInt64(v) * 1000) } // 1 us ... 10 ms
        for (p, exact) in [(0.5, 5_000_000.0), (0.99, 9_900_000.0), (0.01, 100_000.0)] {
            let got = try! XCTUnwrap(h.percentile(p))
            XCTAssertEqual(got, exact, accuracy: exact * 0.03, "p\(p)")
        }
        XCTAssertEqual(h.total, 10_000)
        XCTAssertEqual(h.percentile(0.5).map { _ in () } != nil, true)
        h.clear()
        XCTAssertNil(h.percentile(0.5))
        // Small values are exact.
        h.record(3)
        XCTAssertEqual(h.percentile(0.5), 3)
    }
}

final class BenchFilesTests: XCTestCase {
    static let fields = ["guest", "width", "height", "mode", "cpus", "ram_bytes", "sinks", "frames", "display_fps", "guest_fps",
                         "host_us_median", "host_us_p99", "harvest_us", "reset_us", "fold_us", "copy_us", "present_us",
                         "dirty_pages", "dirty_tiles", "bytes_copied", "latency_p50_us", "latency_p99_us", "free_run_guest_fps",
                         "host_us_mean", "lockstep_fps"]

    func sample() -> BenchRecord {
        var r = BenchRecord(guest: "bounce16", width: 1920, height: 1080, mode: "ring", cpus: 1, ramBytes: 256 << 20, frames: 60)
        r.displayFPS = 4000; r.guestFPS = 812.5; r.hostMedianMicros = 250; r.hostP99Micros = 512.125
        r.harvestMicros = 28.1234; r.resetMicros = 19; r.foldMicros = 14; r.copyMicros = 170; r.presentMicros = 0.2
        r.dirtyPages = 510; r.dirtyTiles = 1073; r.bytesCopied = 4_382_720
        r.latencyP50Micros = 2.2; r.latencyP99Micros = nil
        return r
    }

    func testJSONHasExactlyTheFieldsInOrderAndNullForWhatWasNotMeasured() throws {
        let text = BenchFiles.json([sample(), sample()])
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        XCTAssertEqual(parsed.count, 2)
        XCTAssertEqual(Set(parsed[0].keys), Set(Self.fields))
        XCTAssertTrue(parsed[0]["latency_p99_us"] is NSNull)
        XCTAssertEqual(parsed[0]["guest"] as? String, "bounce16")
        XCTAssertEqual(parsed[0]["ram_bytes"] as? Int, 256 << 20)
        XCTAssertEqual(parsed[0]["harvest_us"] as? Double, 28.123)
        // Field order in the text follows the list.
        let firstLine = text.split(separator: "\n")[1]
        var last = firstLine.startIndex
        for f in Self.fields {
            let r = try XCTUnwrap(firstLine.range(of: "\"\(f)\":"), f)
            XCTAssertGreaterThanOrEqual(r.lowerBound, last, f)
            last = r.lowerBound
        }
        XCTAssertEqual(BenchFiles.json([]), "[]\n")
    }

    func testJSONReadsBackToTheSameRecords() throws {
        let back = try BenchFiles.records(fromJSON: Data(BenchFiles.json([sample()]).utf8))
        var expected = sample()
        expected.harvestMicros = 28.123 // three decimals in the file
        XCTAssertEqual(back, [expected])
        XCTAssertThrowsError(try BenchFiles.records(fromJSON: Data("{}".utf8)))
        XCTAssertThrowsError(try BenchFiles.records(fromJSON: Data("[{\"guest\": \"x\"}]".utf8))) {
            XCTAssertTrue("\($0)".contains("'width'"), "\($0)")
        }
    }

    func testCSVHasAHeaderAndOneLinePerRecord() {
        let lines = BenchFiles.csv([sample()]).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines[0], Self.fields.joined(separator: ",")[...])
        XCTAssertEqual(lines[1], "bounce16,1920,1080,ring,1,268435456,1,60,4000,812.5,250,512.125,28.123,19,14,170,0.2,510,1073,4382720,2.2,,,,")
    }

    func testTheChartIsAnSVGWithAPanelPerResolutionAndARAMPanel() {
        var records: [BenchRecord] = []
        for (w, h) in [(640, 480), (1920, 1080)] {
            for mode in ["ring", "bitmap", "compare", "full"] {
                for ram: UInt64 in mode == "ring" || mode == "bitmap" ? [256 << 20, 4 << 30] : [256 << 20] {
                    var r = BenchRecord(guest: "desktop", width: w, height: h, mode: mode, cpus: 1, ramBytes: ram, frames: 10)
                    r.hostMedianMicros = mode == "full" ? 200 : 20
                    r.harvestMicros = 2; r.resetMicros = 1; r.dirtyTiles = 30
                    records.append(r)
                }
            }
        }
        let svg = BenchChart.svg(records, subtitle: "test & <check>")
        XCTAssertTrue(svg.hasPrefix("<svg "))
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        XCTAssertTrue(svg.contains("640x480, 256M RAM"))
        XCTAssertTrue(svg.contains("1920x1080, 256M RAM"))
        XCTAssertTrue(svg.contains("vs guest RAM"))
        XCTAssertTrue(svg.contains("test &amp; &lt;check&gt;"))
        XCTAssertTrue(svg.contains("<polyline"))
        // Still a picture with nothing measured.
        XCTAssertTrue(BenchChart.svg([]).contains("no measurements"))
    }
}

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

/// `ringside bench` as a user runs it (skipped when the executable is not built).
final class BenchCommandTests: XCTestCase {
    func requireExecutable() throws { try requireRingsideExecutable() }

    func testBadInputIsOneLineAndANonZeroExit() throws {
        try requireExecutable()
        for (args, mentions) in [
            (["bench", "--guests", "desktop,nope"], "unknown guest 'nope'"),
            (["bench", "--modes", "ring,dirty"], "'dirty' is not a tracking mode"),
            (["bench", "--resolutions", "1280"], "'1280' is not a resolution"),
            (["bench", "--ram", "5G5"], "'5G5' is not a guest RAM size"),
            (["bench", "--frames", "0"], "--frames 0"),
            (["bench", "--sinks", "0"], "--sinks: '0' is not a sink count"),
            (["bench", "--sinks", "65"], "--sinks: '65' is not a sink count"),
            (["bench", "--paced-rates", "60x60"], "--paced-rates: '60x60' is not a rate pair"),
            (["bench", "--paced-seconds", "700"], "--paced-seconds 700"),
        ] {
            let r = try runRingside(args)
            XCTAssertEqual(r.status, 1, args.joined(separator: " "))
            XCTAssertTrue(r.err.contains(mentions), r.err)
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        }
    }

    /// Two sink counts: a sinks column, a paced line per cell, and both counts in the JSON.
    func testSinkCountsShowInTheTableAndTheJSON() throws {
        try requireExecutable()
        _ = try requireKVM()
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let r = try runRingside(["bench", "--guests", "idle", "--resolutions", "320x200", "--modes", "ring", "--ram", "16M", "--cpus", "1",
                                 "--sinks", "1,2", "--frames", "4", "--free-run-seconds", "0.05", "--paced-seconds", "0.2",
                                 "--paced-rates", "60/60", "--json", json.path])
        XCTAssertEqual(r.status, 0, r.err)
        let header = try XCTUnwrap(r.out.split(separator: "\n").first { $0.hasPrefix("cell ") })
        XCTAssertTrue(header.contains(" sinks "), String(header))
        XCTAssertTrue(r.out.contains("ring x1, ring x2"), r.out)
        XCTAssertEqual(r.out.components(separatedBy: "      paced: 60/60 p50 ").count - 1, 2, r.out)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["sinks"] as? Int }, [1, 2])
        XCTAssertTrue(rows.allSatisfy { ($0["paced_60_60_samples"] as? Int) != nil })

        // One count: no sinks column.
        let one = try runRingside(["bench", "--guests", "idle", "--resolutions", "320x200", "--modes", "ring", "--ram", "16M", "--cpus", "1",
                                   "--frames", "2", "--free-run-seconds", "0.05", "--paced-seconds", "0"])
        XCTAssertEqual(one.status, 0, one.err)
        let oneHeader = try XCTUnwrap(one.out.split(separator: "\n").first { $0.hasPrefix("cell ") })
        XCTAssertFalse(oneHeader.contains("sinks"), String(oneHeader))
        XCTAssertFalse(one.out.contains("paced:"), one.out)
    }

    /// Ctrl-C finishes the cells running, still writes the records so far, and exits 130.
    /// Eight groups of five small cells: interrupted once the first group's records are
    /// written, the run ends after whole groups, long before the last. A cell that fails is
    /// a failure of its own, shown with the bench's line for it.
    func testCtrlCStopsAfterTheRunningCellsAndStillWritesJSON() throws {
        try requireRingsideExecutable()
        _ = try requireKVM()
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let p = Process()
        p.executableURL = ringsideExecutable()
        p.arguments = ["bench", "--guests", "idle", "--resolutions", "320x200,320x240,400x300,480x320,512x384,640x400,640x480,720x480",
                       "--ram", "16M", "--cpus", "1", "--frames", "4", "--warmup", "1", "--free-run-seconds", "0.1", "--paced-seconds", "0",
                       "--json", json.path]
        // The output goes to a file, so a failure shows what the bench said.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: log) }
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let out = try FileHandle(forWritingTo: log)
        defer { try? out.close() }
        p.standardOutput = out
        p.standardError = out
        try p.run()
        func said() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        // Wait for the first group's records (the file appears whole: it is renamed into place).
        waitFor("the first group's records\n\(said())", timeout: 600) { FileManager.default.fileExists(atPath: json.path) || !p.isRunning }
        p.interrupt()
        XCTAssertEqual(waitForExit(p, timeout: 600, "ringside bench"), 130, said())
        XCTAssertEqual(said().split(separator: "\n").filter { $0.contains("FAILED") }, [], "no cell failed")
        XCTAssertTrue(said().contains("ringside: interrupted: finishing the cells now running"), said())
        let records = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(records.count, 5, "the first group (5 modes) finished before the interrupt\n\(said())")
        XCTAssertLessThan(records.count, 40, "the run stopped early\n\(said())")
        XCTAssertEqual(records.count % 5, 0, "whole groups only\n\(said())")
        XCTAssertTrue(said().contains("\(records.count) of 40 cells in "), said())
    }
}

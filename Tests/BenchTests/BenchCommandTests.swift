@testable import Bench
import Foundation
import TestSupport
import Tracking
import XCTest

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

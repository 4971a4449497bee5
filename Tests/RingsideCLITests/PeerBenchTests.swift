import Foundation
import Machine
import TestSupport
import XCTest

/// `ringside bench --peer qemu --quick`: the records' shape, and frame N identical under both
/// VMMs (each VNC server's picture of the stopped guest against the guest's own frame N).
/// No timing is asserted: speed is what the benchmark reports, not what a test checks.
final class PeerBenchTests: XCTestCase {
    func testQuickPeerBenchWritesRecordsOfBothVMMsAndTheSameFrameN() throws {
        try QEMUPeerTests.requireQEMU()
        let file = NSTemporaryDirectory() + "ringside-peer-\(UUID().uuidString).json"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: file) }
        let r = try runRingside(["bench", "--peer", "qemu", "--quick", "--json", file], timeout: 600)
        XCTAssertEqual(r.status, 0, r.out + r.err)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let records = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        var cells: Set<String> = []
        for record in records {
            let vmm = try XCTUnwrap(record["vmm"] as? String)
            XCTAssertTrue(["ringside", "qemu"].contains(vmm), "vmm is ringside or qemu: \(record)")
            let cell = try XCTUnwrap(record["cell"] as? String)
            cells.insert("\(vmm) \(cell)")
            XCTAssertEqual(record["guest"] as? String, "desktop")
            XCTAssertEqual(record["width"] as? Int, 640)
            XCTAssertNotNil(record["settings"] as? String)
            switch cell {
            case "frame":
                XCTAssertEqual(record["identical"] as? Bool, true, "\(vmm) shows exactly the guest's frame \(record["frame"] ?? "?")")
            case "display":
                XCTAssertEqual(record["encoding"] as? String, "ZRLE")
                for key in ["updates", "updatesPerSecond", "cpuSecondsPerSecond", "framesInWindow", "framesNeverSeen", "tornUpdates", "peakRSSBytes"] {
                    XCTAssertNotNil(record[key], "\(vmm) display record has \(key): \(record)")
                }
            case "idle":
                XCTAssertNotNil(record["cpuSecondsPerSecond"], "\(record)")
            default:
                XCTFail("unexpected cell \(cell) in --quick: \(record)")
            }
        }
        XCTAssertEqual(cells, ["ringside frame", "qemu frame", "ringside display", "qemu display", "ringside idle", "qemu idle"])
        XCTAssertTrue(r.out.contains("| display | desktop | 640x400 | ZRLE | updates/s |"), "the side-by-side table: \(r.out)")
    }

    /// DOOM's demo in the quick cells: measured once the demo plays, and frame 240 + 30
    /// identical under both VMMs (the WAD a boot module in each).
    func testQuickPeerBenchRunsDoomsDemo() throws {
        try QEMUPeerTests.requireQEMU()
        let doom = try XCTUnwrap(BuiltGuest.named("doom"))
        guard doom.isBuilt else { throw unmetRequirement("DOOM is not built in \(doom.directory): run `\(doom.buildCommand)` (CI does, in .ci/run)") }
        let file = NSTemporaryDirectory() + "ringside-peer-doom-\(UUID().uuidString).json"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: file) }
        let r = try runRingside(["bench", "--peer", "qemu", "--quick", "--guests", "doom", "--json", file], timeout: 900)
        XCTAssertEqual(r.status, 0, r.out + r.err)
        let records = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [[String: Any]])
        var cells: Set<String> = []
        for record in records {
            let vmm = try XCTUnwrap(record["vmm"] as? String), cell = try XCTUnwrap(record["cell"] as? String)
            cells.insert("\(vmm) \(cell)")
            XCTAssertEqual(record["guest"] as? String, "doom")
            if cell == "frame" {
                XCTAssertEqual(record["frame"] as? Int, 270, "30 frames after the 240 of the title screen")
                XCTAssertEqual(record["identical"] as? Bool, true, "\(vmm) shows exactly DOOM's frame 270")
            }
            if cell == "display" { XCTAssertGreaterThan(record["updates"] as? Int ?? 0, 0, "\(vmm) delivered the demo: \(record)") }
        }
        XCTAssertEqual(cells, ["ringside frame", "qemu frame", "ringside display", "qemu display", "ringside idle", "qemu idle"])
    }

    func testDoomNotBuiltIsALineAndAnErrorWhenNothingElseIsLeft() throws {
        try QEMUPeerTests.requireQEMU()
        var env = ProcessInfo.processInfo.environment
        env["RINGSIDE_DOOM_DIR"] = "/nonexistent/doom"
        let r = try runRingside(["bench", "--peer", "qemu", "--quick", "--guests", "doom"], environment: env, timeout: 120)
        XCTAssertEqual(r.status, 1, r.out + r.err)
        XCTAssertTrue(r.out.contains("skipped: doom: ") && r.out.contains("fetch-and-build.sh"), r.out)
        XCTAssertTrue(r.err.contains("no workload left to measure"), r.err)
    }

    func testAnUnknownPeerIsOneLine() throws {
        let r = try runRingside(["bench", "--peer", "vmware"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("--peer 'vmware'"), r.err)
    }
}

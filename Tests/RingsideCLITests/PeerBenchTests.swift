import Foundation
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

    func testAnUnknownPeerIsOneLine() throws {
        let r = try runRingside(["bench", "--peer", "vmware"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.contains("--peer 'vmware'"), r.err)
    }
}

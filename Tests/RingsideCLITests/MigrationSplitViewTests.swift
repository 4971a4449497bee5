import Foundation
import TestSupport
import XCTest

/// The split view shows an outgoing migration live: a second caption line under the page
/// maps, from "connecting" through each round to the hand-over.
final class MigrationSplitViewTests: XCTestCase {
    func testTheSplitViewOfAMigratingRunHasAMigrationCaptionLine() throws {
        try MigrationCheck.requireKVMDevice()
        try DecodedPNG.requireDecoder()
        let dir = try MigrationCheck.tempDir(self, "splitmig")
        let common = ["--guest", "desktop", "--width", "320", "--height", "200", "--memory", "32M", "--show-split", "--png-every", "10"]
        let plain = try RingsideProcess("plain", ["run"] + common + ["--frames", "20", "--png", dir + "/plain"])
        XCTAssertEqual(plain.exitStatus(), 0, plain.transcript)

        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "200"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        // Frame 30 is written mid-migration on any host: pacing makes frames 20 to 30 take at
        // least 9 periods (150 ms), and at 1 MiB/s round 0 (a 256 KiB screen and the RAM)
        // takes longer. The run ends when the guest is handed over.
        let src = try RingsideProcess("run", ["run"] + common + ["--png", dir + "/mig", "--migrate-to", "127.0.0.1:\(port)",
                                                                 "--migrate-at-frame", "20", "--max-bandwidth", "1M"])
        XCTAssertEqual(src.exitStatus(), 0, src.transcript)
        XCTAssertEqual(dst.exitStatus(), 0, dst.transcript)

        let before = try DecodedPNG(path: dir + "/plain/" + MigrationCheck.pngName(20))
        let during = try DecodedPNG(path: dir + "/mig/" + MigrationCheck.pngName(30))
        XCTAssertEqual(during.width, before.width)
        XCTAssertEqual(during.height, before.height + 12, "one more 12-pixel caption line")
        // The second caption line's text sits 8-24 rows above the bottom (the background is one flat colour).
        let background = during.pixel(x: during.width - 1, y: during.height - 1)
        let lit = (during.height - 24..<during.height - 8).reduce(0) { n, y in
            n + (0..<during.width).filter { during.pixel(x: $0, y: y) != background }.count
        }
        XCTAssertGreaterThan(lit, 100, "the migration line is drawn")
    }
}

import Foundation
import TestSupport
import XCTest

/// An option this run will not use is named on stderr with the reason, and the run goes on;
/// an option given twice is refused.
final class IgnoredOptionTests: XCTestCase {
    let quick = ["run", "--guest", "pattern", "--guest-hz", "0", "--frames", "2", "--width", "64", "--height", "64"]


    func warnings(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let r = try runRingside(quick + args)
        XCTAssertEqual(r.status, 0, r.err, file: file, line: line)
        XCTAssertTrue(r.out.contains("guest frames/s"), "the run went on: \(r.out)", file: file, line: line)
        return r.err.split(separator: "\n").map(String.init)
    }

    func testRingEntriesWithoutTheRingIsNamed() throws {
        try requireKVMDevice()
        for mode in ["bitmap", "compare", "full"] {
            XCTAssertEqual(try warnings(["--headless", "--tracking", mode, "--ring-entries", "512"]),
                           ["ringside: warning: --ring-entries has no effect with --tracking \(mode): only --tracking ring uses a dirty ring"])
        }
        XCTAssertEqual(try warnings(["--headless", "--tracking", "ring", "--ring-entries", "512"]), [])
        XCTAssertEqual(try warnings(["--headless", "--tracking", "bitmap"]), [], "the default ring size is not a given option")
    }

    func testWindowOptionsWithoutAWindowAreNamed() throws {
        try requireKVMDevice()
        XCTAssertEqual(try warnings(["--headless", "--show-dirty", "--show-split", "--nearest"]), [
            "ringside: warning: --show-dirty has no effect with --headless: it tints the window, and PNG files show the plain screen",
            "ringside: warning: --nearest has no effect with --headless: it scales the window",
            "ringside: warning: --show-split has no effect with --headless and no --png: it draws in the window or in the PNG files",
        ])
        let dir = NSTemporaryDirectory() + "ringside-ignored-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(try warnings(["--png", dir, "--show-split", "--nearest"]),
                       ["ringside: warning: --nearest has no effect with --png (PNG files, no window): it scales the window"],
                       "--show-split is drawn into the PNG files")
    }

    func testRefreshWithPerFramePNGFilesIsNamed() throws {
        try requireKVMDevice()
        let dir = NSTemporaryDirectory() + "ringside-ignored-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(try warnings(["--png", dir, "--png-every", "1", "--refresh", "30"]),
                       ["ringside: warning: --refresh has no effect with --png-every: each guest frame is harvested at its doorbell instead"])
        XCTAssertEqual(try warnings(["--png", dir, "--refresh", "30"]), [], "the last-frame dump refreshes at --refresh")
    }

    func testAnOptionGivenTwiceIsRefused() throws {
        for (args, name, sub) in [(["run", "--cpus", "1", "--cpus", "2"], "--cpus", "run"),
                                  (["run", "--headless", "--png=/tmp/a", "--png", "/tmp/b"], "--png", "run"),
                                  (["run", "--headless", "--headless", "--frames", "1"], "--headless", "run"),
                                  (["bench", "--frames", "2", "--frames=3"], "--frames", "bench")] {
            let r = try runRingside(args, timeout: 30)
            XCTAssertEqual(r.status, 1, "\(args)")
            XCTAssertEqual(r.err, "ringside: \(name) is given 2 times: give each option at most once (see 'ringside \(sub) --help')\n")
        }
    }
}

import Foundation
import TestSupport
import XCTest

/// `--auto-converge on|off`: anything else, or the option without a migration, is refused
/// before boot with one line.
final class AutoConvergeOptionTests: XCTestCase {
    func testAnUnknownValueIsRefusedWithOneLine() throws {
        try requireRingsideExecutable()
        let r = try runRingside(["run", "--guest", "desktop", "--headless", "--frames", "1", "--migrate-to", "127.0.0.1:9",
                                 "--auto-converge", "maybe"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.err, "ringside: --auto-converge 'maybe': use on or off\n")
    }

    func testTheOptionNeedsAMigration() throws {
        try requireRingsideExecutable()
        let r = try runRingside(["run", "--guest", "desktop", "--headless", "--frames", "1", "--auto-converge", "off"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.hasPrefix("ringside: ") && r.err.contains("--auto-converge") && r.err.contains("need --migrate-to HOST:PORT"), r.err)
        XCTAssertEqual(r.err.filter { $0 == "\n" }.count, 1, r.err)
    }
}

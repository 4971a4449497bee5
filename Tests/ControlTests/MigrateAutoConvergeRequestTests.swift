import Control
import XCTest

/// `ctl migrate ... --auto-converge on|off`: parsed, refused when neither, and written back.
final class MigrateAutoConvergeRequestTests: XCTestCase {
    func parse(_ line: String) throws -> ControlRequest { try ControlRequest.parse(line: Array(line.utf8)) }

    func testAutoConvergeIsParsedAndReadsBack() throws {
        var off = MigrateRequest(host: "127.0.0.1", port: 7777)
        off.autoConverge = false
        XCTAssertEqual(try parse("migrate 127.0.0.1:7777 --auto-converge off"), .migrate(off))
        var on = off
        on.autoConverge = true
        XCTAssertEqual(try parse("migrate 127.0.0.1:7777 --auto-converge on --max-rounds 3").line,
                       "migrate 127.0.0.1:7777 --max-rounds 3 --auto-converge on")
        for r in [off, on, MigrateRequest(host: "127.0.0.1", port: 7777)] {
            XCTAssertEqual(try parse(ControlRequest.migrate(r).line), .migrate(r))
        }
    }

    func testAnythingButOnOrOffIsRefused() {
        XCTAssertThrowsError(try parse("migrate 127.0.0.1:7777 --auto-converge maybe")) { e in
            XCTAssertTrue("\(e)".contains("use on or off"), "\(e)")
        }
        XCTAssertThrowsError(try parse("migrate 127.0.0.1:7777 --auto-converge"))
    }
}

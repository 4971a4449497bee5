import Foundation
import QEMUPeer
import XCTest

/// `ProcStat.text` reads a /proc file to its end: QEMU's maps, where the peer looks for the
/// guest's RAM, is far longer than the one page `String(contentsOfFile:)` returns.
final class ProcTextTests: XCTestCase {
    func testAMapsFileLongerThanAPageIsReadWhole() throws {
        let maps = try XCTUnwrap(ProcStat.text("/proc/self/maps"))
        XCTAssertGreaterThan(maps.utf8.count, 4096, "a test process maps more than a page of lines")
        XCTAssertTrue(maps.contains("[stack]"), "the stack's line, near the end, is there")
        XCTAssertNil(ProcStat.text("/proc/self/no-such-file"))
    }
}

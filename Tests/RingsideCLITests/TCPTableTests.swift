import Foundation
import TestSupport
import XCTest

/// `TCP.established` reads the kernel's whole connection table: on a busy host (two CI test
/// processes, or two CI runs) /proc/net/tcp is many pages long, and a connection past the
/// first page must still be found. Reading it with `String(contentsOfFile:)` stopped after
/// 4 KiB, and TigerVNC's viewer was twice reported as never connecting.
final class TCPTableTests: XCTestCase {
    func testAConnectionPastTheTablesFirstPageIsFound() throws {
        var open: [Int32] = []
        defer { open.forEach { close($0) } }
        // 60 connections (120 sockets, 150 bytes a line): several pages of table.
        for _ in 0..<60 {
            let (listener, port) = try TCP.listen()
            open.append(listener)
            open.append(try TCP.connect(port: port))
        }
        let (listener, port) = try TCP.listen()
        open.append(listener)
        XCTAssertFalse(TCP.established(toPort: port), "nothing has connected yet")
        open.append(try TCP.connect(port: port)) // never accepted: in the listener's queue
        XCTAssertGreaterThan(procText("/proc/net/tcp").utf8.count, 3 * 4096, "the table is longer than a page")
        XCTAssertTrue(TCP.established(toPort: port), "the newest connection is found wherever it sits in the table")
    }
}

import Foundation
import TestSupport
import XCTest

/// `ringside verify`: the no-lost-page self-check users run on their own host.
final class VerifyCommandTests: XCTestCase {

    func testAHealthyHostLosesNothingAndGetsATablePerModeAndVCPUCount() throws {
        try requireKVMDevice()
        let r = try runRingside(["verify", "--pauses", "160", "--modes", "ring,bitmap,compare,full", "--cpus", "1"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.err)
        for mode in ["ring", "bitmap", "compare", "full"] {
            let row = r.out.split(separator: "\n").first { $0.hasPrefix("| \(mode) | 1 | 40 |") }
            XCTAssertNotNil(row, "a row for \(mode) with its 40 pauses: \(r.out)")
            let cells = row.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            XCTAssertEqual(cells.count, 10)
            if cells.count == 10 {
                XCTAssertEqual(cells[4], "0", "\(mode): pages lost")
                XCTAssertGreaterThan(Int(cells[3]) ?? 0, 40 * 60, "\(mode): pages were compared at every pause")
            }
        }
    }

    func testABrokenCollectorIsCaughtWithSlotPageAndFrame() throws {
        try requireKVMDevice()
        let r = try runRingside(["verify", "--pauses", "60", "--modes", "ring,bitmap", "--cpus", "1", "--inject-drop-every", "97"], timeout: 120)
        XCTAssertEqual(r.status, 1)
        let lines = r.err.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(r.err)")
        let line = String(lines.first ?? "")
        XCTAssertTrue(line.contains("LOST: ring, 1 vCPU"), line)
        XCTAssertNotNil(line.range(of: #"(RAM|framebuffer) page \d+ \(slot \d\) holds guest frame \d+"#, options: .regularExpression), line)
        XCTAssertNotNil(line.range(of: #"during guest frame \d+"#, options: .regularExpression), line)
        XCTAssertFalse(r.out.contains("| ring | 1 | 30 | 138240 | 0 |"), "the table does not claim zero losses")
    }

    func testBadOptionsGiveOneLine() throws {
        for args in [["verify", "--modes", "nope"], ["verify", "--pauses", "0"], ["verify", "--cpus", "99"], ["verify", "--ring-entries", "300", "--modes", "ring"]] {
            let r = try runRingside(args)
            XCTAssertEqual(r.status, 1, "\(args)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, "\(args): \(r.err)")
        }
    }
}

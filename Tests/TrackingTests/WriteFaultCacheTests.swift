import Foundation
import Machine
import TestSupport
@testable import Tracking
import XCTest

/// The write-fault probe's result kept for the rest of the boot: what is stored reads back;
/// another boot's, another format's, or a damaged file reads as nothing (measured again).
final class WriteFaultCacheTests: XCTestCase {
    let cost = WriteFaultCost(nanosPerPage: 15_000.5, loggedFrameNanos: 900_000, unloggedFrameNanos: 240_000, pagesPerFrame: 44, probeNanos: 180_000_000)

    func file() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("write-fault-cache-\(getpid())-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir + "/ringside/write-fault-ring"
    }

    func testWhatIsStoredReadsBackInThisBoot() throws {
        guard WriteFaultCache.bootID != nil else { throw XCTSkip("no /proc/sys/kernel/random/boot_id on this host") }
        let f = try file()
        XCTAssertNil(WriteFaultCache.load(.ring(entries: 4096, acquireRelease: false), file: f), "nothing stored yet")
        WriteFaultCache.store(cost, .ring(entries: 4096, acquireRelease: false), file: f)
        let back = try XCTUnwrap(WriteFaultCache.load(.ring(entries: 4096, acquireRelease: false), file: f))
        XCTAssertEqual(back.nanosPerPage, 15_000.5)
        XCTAssertEqual(back.pagesPerFrame, 44)
        XCTAssertEqual(back.probeNanos, 180_000_000)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: (f as NSString).deletingLastPathComponent), ["write-fault-ring"],
                       "no temporary file is left")
    }

    func testAnotherBootAnOldOrADamagedFileIsMeasuredAgain() {
        let good = WriteFaultCache.render(cost, boot: "b1", at: 5000)
        XCTAssertNotNil(WriteFaultCache.parse(good, boot: "b1", now: 5000))
        XCTAssertNotNil(WriteFaultCache.parse(good, boot: "b1", now: 8600), "an hour later")
        XCTAssertNil(WriteFaultCache.parse(good, boot: "b1", now: 8601), "over an hour later")
        XCTAssertNil(WriteFaultCache.parse(good, boot: "b1", now: 4999), "measured in the future")
        XCTAssertNil(WriteFaultCache.parse(good, boot: "b2", now: 5000), "another boot")
        let bad = [good.replacingOccurrences(of: "write-fault 1", with: "write-fault 9"), String(good.dropLast(20)),
                   good.replacingOccurrences(of: "15000.5", with: "nan"), good.replacingOccurrences(of: "15000.5", with: "-3"),
                   good.replacingOccurrences(of: "15000.5", with: "0.0"), good.replacingOccurrences(of: "measured 5000", with: "measured x"), ""]
        for text in bad { XCTAssertNil(WriteFaultCache.parse(text, boot: "b1", now: 5000), text.debugDescription) }
    }

    func testASpoiledMeasurementOfZeroIsNotKept() throws {
        guard WriteFaultCache.bootID != nil else { throw XCTSkip("no /proc/sys/kernel/random/boot_id on this host") }
        let f = try file()
        var zero = cost
        zero.nanosPerPage = 0
        WriteFaultCache.store(zero, .none, file: f)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f))
    }

    func testEachLoggingKindHasItsOwnFile() {
        let kinds: [DirtyLogging] = [.ring(entries: 4096, acquireRelease: true), .ring(entries: 4096, acquireRelease: false),
                                     .bitmap(manualProtect: 3), .bitmap(manualProtect: 0), .none]
        XCTAssertEqual(Set(kinds.map(WriteFaultCache.kind)).count, 5)
    }
}

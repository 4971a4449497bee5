import Foundation
import TestSupport
import XCTest

/// Input that waits in the VMM (the guest's queue is full) is device state: a live migration
/// carries it to the destination, so nothing typed is lost.
final class InputMigrationTests: XCTestCase {
    func testInputWaitingAtTheSourceArrivesWaitingAtTheDestination() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "input")
        // 100 lowercase letters: 200 key events; `idle` never reads its queue, so 128 fill the
        // ring (in guest RAM, carried with the pages) and 72 wait in the VMM.
        let script = dir + "/typing.txt"
        try "5 type \(String(repeating: "abcdefghij", count: 10))\n".write(toFile: script, atomically: true, encoding: .utf8)
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "60", "--log-input"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", "idle", "--headless", "--width", "320", "--height", "200", "--memory", "64M",
                                              "--input-script", script, "--migrate-to", "127.0.0.1:\(port)", "--migrate-at-frame", "30"])
        XCTAssertEqual(src.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertEqual(dst.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("input: 128 events delivered to the guest's queue, 72 waiting for room"), src.transcript)
        XCTAssertTrue(dst.out.contains("input: 0 events delivered to the guest's queue, 72 waiting for room"), dst.transcript)
    }
}

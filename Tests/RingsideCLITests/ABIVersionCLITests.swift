import Foundation
import TestSupport
import XCTest

/// `ringside run` and the guest ABI version an image declares: a newer one is one line, an
/// old image boots, and `--guest-abi` names the version of an image without the note.
final class ABIVersionCLITests: XCTestCase {
    func scratchImage(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "abi-\(UUID().uuidString).elf"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { unlink(path) }
        return path
    }

    func compat(_ version: Int) -> String { guestAsset("compat/pattern-abi\(version).elf") }

    func testAnImageNeedingANewerABIIsOneLineNamingBothVersions() throws {
        let path = try scratchImage(addingNote(to: Array(Data(contentsOf: URL(fileURLWithPath: compat(1)))), version: 99))
        let r = try runRingside(["run", "--guest", path, "--headless", "--frames", "1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, "ringside: guest image \(path) needs guest ABI version 99, but this ringside boots versions 1 to 4: "
                       + "use a newer ringside, or rebuild the image for version 4 or older\n")
        XCTAssertEqual(r.out, "", "refused before anything ran")
    }

    func testAVersion1ImageRunsAndAnOldVersion2ImageRunsWhenItsVersionIsSaid() throws {
        try MigrationCheck.requireKVMDevice()
        let v1 = try runRingside(["run", "--guest", compat(1), "--headless", "--frames", "3", "--width", "320", "--height", "200"])
        XCTAssertEqual(v1.status, 0, v1.out + v1.err)
        XCTAssertTrue(v1.out.contains("guest: pattern: 320x200 cpu 0/1"), v1.out)

        let unsaid = try runRingside(["run", "--guest", compat(2), "--headless", "--frames", "3"])
        XCTAssertEqual(unsaid.status, 3, "the old runtime's check exits with status 1: \(unsaid.out)")
        XCTAssertTrue(unsaid.out.contains("guest: pattern: bad boot info"), unsaid.out)
        XCTAssertTrue(unsaid.out.contains("ringside: note: pattern-abi2 declares no guest ABI version, so it was booted as version 1; "
                                          + "an image built for a later version without the note runs with --guest-abi VERSION"), unsaid.out)
        let said = try runRingside(["run", "--guest", compat(2), "--guest-abi", "2", "--headless", "--frames", "3", "--width", "320", "--height", "200"])
        XCTAssertEqual(said.status, 0, said.out + said.err)
        XCTAssertTrue(said.out.contains("guest: pattern: 320x200 cpu 0/1"), said.out)
    }

    func testGuestABIIsRefusedForAnImageWithTheNoteAndOutOfRange() throws {
        try MigrationCheck.requireKVMDevice()
        let conflict = try runRingside(["run", "--guest", "pattern", "--guest-abi", "2", "--headless", "--frames", "1"])
        XCTAssertEqual(conflict.status, 1)
        XCTAssertNil(MigrationCheck.oneLineProblem(conflict.err, containing: ["declares version 4: drop --guest-abi"]), conflict.err)
        let range = try runRingside(["run", "--guest", compat(2), "--guest-abi", "5", "--headless", "--frames", "1"])
        XCTAssertEqual(range.status, 1)
        XCTAssertEqual(range.err, "ringside: --guest-abi 5 is out of range: use 1...4 (see 'ringside run --help')\n")
    }
}

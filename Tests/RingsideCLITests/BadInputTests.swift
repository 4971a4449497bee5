import Foundation
import TestSupport
import XCTest

/// Every user mistake gets one clear line on stderr and a non-zero exit: no trap, no stack dump.
final class BadInputTests: XCTestCase {
    func assertOneLineError(_ args: [String], contains needle: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runRingside(args)
        XCTAssertNotEqual(r.status, 0, "\(args) exits non-zero", file: file, line: line)
        let lines = r.err.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "\(args): exactly one line on stderr, got: \(r.err)", file: file, line: line)
        XCTAssertTrue(r.err.contains(needle), "\(args): '\(r.err)' mentions '\(needle)'", file: file, line: line)
        XCTAssertFalse(r.err.contains("Fatal error") || r.err.contains("Stack dump"), file: file, line: line)
    }

    func testMissingKVMDevice() throws {
        try assertOneLineError(["run", "--headless", "--frames", "1", "--device", "/nonexistent/kvm"], contains: "has no KVM")
    }

    func testUnknownGuestName() throws {
        try assertOneLineError(["run", "--headless", "--guest", "nosuchguest"], contains: "no built-in guest named 'nosuchguest'")
    }

    func testGuestFileThatIsNotAnImage() throws {
        let path = NSTemporaryDirectory() + "not-an-image-\(getpid()).elf"
        try "just text".write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        try assertOneLineError(["run", "--headless", "--guest", path], contains: "not an ELF file")
    }

    func testTruncatedGuestImage() throws {
        let dir = GuestDirectory.path
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/pattern.elf"))
        let path = NSTemporaryDirectory() + "truncated-\(getpid()).elf"
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        try assertOneLineError(["run", "--headless", "--guest", path], contains: "truncated")
    }

    /// A one-segment ELF64 image at 0x200000 (`memSize` bytes in memory), written to a scratch
    /// file; `edit` may change any byte first.
    func writeELF(memSize: UInt64 = 4096, _ edit: (inout [UInt8]) -> Void = { _ in }) throws -> String {
        var elf = [UInt8](repeating: 0, count: 64 + 56 + 16)
        func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { elf[o + i] = x } } }
        elf[0] = 0x7F; elf[1] = 0x45; elf[2] = 0x4C; elf[3] = 0x46; elf[4] = 2; elf[5] = 1; elf[6] = 1
        put(UInt16(2), 16); put(UInt16(62), 18); put(UInt64(0x20_0000), 24); put(UInt64(64), 32)
        put(UInt16(56), 54); put(UInt16(1), 56)
        put(UInt32(1), 64); put(UInt32(5), 68); put(UInt64(120), 72); put(UInt64(0x20_0000), 80); put(UInt64(0x20_0000), 88)
        put(UInt64(16), 96); put(memSize, 104)
        edit(&elf)
        let path = NSTemporaryDirectory() + "image-\(UUID().uuidString).elf"
        try Data(elf).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { unlink(path) }
        return path
    }

    func testGuestLargerThanRAM() throws {
        // A handcrafted image with a 512 MiB segment.
        let path = try writeELF(memSize: 512 << 20)
        try assertOneLineError(["run", "--headless", "--guest", path, "--memory", "64M"], contains: "raise --memory")
    }

    func testELFIdentityBytesAreNamedForWhatTheyAre() throws {
        for c: UInt8 in [0, 3, 255] {
            let path = try writeELF { $0[4] = c }
            try assertOneLineError(["run", "--headless", "--guest", path], contains: "ELF class byte \(c) is invalid; need 2 (64-bit)")
        }
        for d: UInt8 in [0, 3] {
            let path = try writeELF { $0[5] = d }
            try assertOneLineError(["run", "--headless", "--guest", path], contains: "ELF data-encoding byte \(d) is invalid; need 1 (little-endian)")
        }
        try assertOneLineError(["run", "--headless", "--guest", try writeELF { $0[5] = 2 }], contains: "it is big-endian")
    }

    func testASegmentLinkedAtAnotherVirtualAddressIsRefused() throws {
        let path = try writeELF { $0[80 + 2] = 0x40 } // p_vaddr 0x400000, p_paddr 0x200000
        try assertOneLineError(["run", "--headless", "--guest", path], contains: "p_vaddr 0x400000 but p_paddr 0x200000")
    }

    func testAnImageFileWithATrailingSlashIsRefusedAsOpenWould() throws {
        let path = try writeELF()
        try assertOneLineError(["run", "--headless", "--guest", path + "/"], contains: "not a directory (ENOTDIR)")
    }

    func testAHugeImageFileIsRefusedBeforeItIsRead() throws {
        // A valid header at the front of a sparse 2 GiB file. Under a 1.5 GiB address-space
        // limit any attempt to read the file whole would fail differently.
        let path = try writeELF()
        XCTAssertEqual(truncate(path, 2 << 30), 0)
        let ringside = ringsideExecutable().path
        for (memory, limit) in [("4G", "1073741824"), ("256M", "268435456")] {
            let start = Date()
            let r = try runProgram(URL(fileURLWithPath: "/bin/sh"),
                                   ["-c", "ulimit -v 1572864 && exec \"$0\" run --headless --guest \"$1\" --memory \"$2\"", ringside, path, memory])
            XCTAssertLessThan(Date().timeIntervalSince(start), 10)
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(r.err, "ringside: guest image \(path) is 2147483648 bytes, more than the limit of \(limit) bytes (\(Int(limit)! >> 20) MiB: the guest RAM "
                + "or 1 GiB, whichever is smaller); an image must fit in guest RAM, so check the path or raise --memory\n")
        }
    }

    func testGeometryOutOfRange() throws {
        try assertOneLineError(["run", "--headless", "--width", "32"], contains: "out of range")
        try assertOneLineError(["run", "--headless", "--height", "5000"], contains: "out of range")
    }

    func testMemoryOutOfRangeOrMalformed() throws {
        try assertOneLineError(["run", "--headless", "--memory", "64G"], contains: "8M ... 32G")
        try assertOneLineError(["run", "--headless", "--memory", "lots"], contains: "is not a size")
    }

    func testCPUCountOutOfRange() throws {
        try assertOneLineError(["run", "--headless", "--cpus", "0"], contains: "--cpus 0")
        try assertOneLineError(["run", "--headless", "--cpus", "99"], contains: "--cpus 99")
    }

    func testRingSizeOutOfRange() throws {
        try assertOneLineError(["run", "--headless", "--ring-entries", "1000"], contains: "power of two")
    }

    func testMigrationRoundsNeedAPageList() throws {
        try assertOneLineError(["run", "--headless", "--tracking", "full", "--migration-rounds", "100"], contains: "no migration list")
        try assertOneLineError(["run", "--headless", "--tracking", "nope"], contains: "not a mode")
    }

    func testPNGOptionsAreChecked() throws {
        try assertOneLineError(["run", "--headless", "--png", "/sys", "--frames", "1"], contains: "/sys")
        try assertOneLineError(["run", "--headless", "--png", "/tmp", "--png-every", "0"], contains: "--png-every 0")
        try assertOneLineError(["run", "--headless", "--refresh", "0"], contains: "--refresh 0")
    }

    func testAPNGDirectoryThatCannotBeMadeOrWrittenIsRefusedWithTheRealErrno() throws {
        let file = try writeELF()
        try assertOneLineError(["run", "--headless", "--frames", "1", "--png", file + "/out"], contains: "is a file, not a directory (ENOTDIR)")
        try assertOneLineError(["run", "--headless", "--frames", "1", "--png", "/proc/ringside/out"],
                               contains: "cannot create directory /proc/ringside: No such file or directory (ENOENT)")
        try assertOneLineError(["run", "--headless", "--frames", "1", "--png", "/proc"],
                               contains: "/proc: the directory is not writable: creating a file in it failed with No such file or directory (ENOENT)")
    }

    func testACrashingGuestIsReportedWithRIPAndNonZeroStatus() throws {
        let r = try runRingside(["run", "--headless", "--guest", "fault", "--frames", "5"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("KVM_EXIT_SHUTDOWN") && r.err.contains("RIP 0x"), r.err)
        XCTAssertTrue(r.err.contains("last console line"), r.err)
    }

    func testGuestExitPortSetsTheExitStatus() throws {
        let r = try runRingside(["run", "--headless", "--guest", "fault", "--args", "kind=exit status=3"])
        XCTAssertEqual(r.status, 7, "isa-debug-exit: (3 << 1) | 1")
    }
}

/// Where the built-in images are, for tests that need the raw files.
enum GuestDirectory {
    static var path: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("assets/guests/bin").path
    }
}

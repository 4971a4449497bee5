import Foundation
import TestSupport
import XCTest

/// `ringside run --module PATH[=NAME]` end to end: bad modules are one line before boot, the
/// guest reads what it was given, and a live migration carries the modules as RAM (the
/// destination never sees the files, and the config frame does not carry them).
final class ModuleCLITests: XCTestCase {
    func scratchDir() throws -> String {
        let dir = NSTemporaryDirectory() + "ringside-modules-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// `count` bytes of a seeded LCG, written to `dir/name`.
    func writeModule(_ dir: String, _ name: String, count: Int, seed: UInt32) throws -> (path: String, bytes: [UInt8]) {
        var s = seed
        let bytes = (0..<count).map { _ in s = s &* 1_664_525 &+ 1_013_904_223; return UInt8(truncatingIfNeeded: s >> 24) }
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, bytes)
    }

    func fnv1a(_ bytes: [UInt8]) -> String {
        "0x" + String(bytes.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }, radix: 16)
    }

    func testBadModulesAreOneLineBeforeBoot() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try scratchDir()
        let small = try writeModule(dir, "small.bin", count: 100, seed: 1).path
        let big = try writeModule(dir, "big.bin", count: 12 << 20, seed: 2).path
        let cases: [([String], String)] = [
            (["--module", dir + "/missing.bin"], "cannot read boot module \(dir)/missing.bin: no such file"),
            (["--module", dir + "=dir"], "it is a directory"),
            (["--module", small + "="], "the name after '=' is empty"),
            (["--module", small + "=" + String(repeating: "x", count: 48)], "is 48 bytes; the limit is 47"),
            (["--module", small, "--module", small], "two boot modules are named 'small.bin'"),
            (["--module", big, "--memory", "8M"], "more than the guest's 8 MiB of RAM"),
            (["--module", big, "--memory", "14M"], "boot module 'big.bin' (12582912 bytes) does not fit"),
            (Array(repeating: ["--module", small], count: 65).enumerated().flatMap { i, a in [a[0], a[1] + "=m\(i)"] }, "65 boot modules given; the limit is 64"),
        ]
        for (extra, needle) in cases {
            let memory = extra.contains("--memory") ? [] : ["--memory", "16M"]
            let r = try runRingside(["run", "--guest", "modules", "--headless", "--frames", "1"] + memory + extra)
            if let problem = MigrationCheck.oneLineProblem(r.err, containing: [needle]) { XCTFail("\(extra.prefix(4)): \(problem)") }
            XCTAssertEqual(r.status, 1, "\(extra.prefix(4))")
            XCTAssertFalse(r.out.contains("guest:"), "refused before the guest ran: \(r.out)")
        }
    }

    func testTheGuestReadsEveryModuleGivenInOrder() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try scratchDir()
        let a = try writeModule(dir, "a.bin", count: 70_000, seed: 3), b = try writeModule(dir, "b.dat", count: 5, seed: 4)
        let r = try runRingside(["run", "--guest", "modules", "--headless", "--frames", "2", "--memory", "16M",
                                 "--module", a.path, "--module", b.path + "=second"])
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertEqual(r.err, "")
        let lines = r.out.split(separator: "\n").filter { $0.hasPrefix("guest: modules: ") && $0.contains(" bytes at ") }
        XCTAssertEqual(lines.count, 2, r.out)
        XCTAssertTrue(lines.first?.hasPrefix("guest: modules: a.bin 70000 bytes at 0x") ?? false, r.out)
        XCTAssertTrue(lines.first?.hasSuffix(" fnv1a \(fnv1a(a.bytes))") ?? false, r.out)
        XCTAssertTrue(lines.last?.hasPrefix("guest: modules: second 5 bytes at 0x") ?? false, r.out)
        XCTAssertTrue(lines.last?.hasSuffix(" fnv1a \(fnv1a(b.bytes))") ?? false, r.out)
    }

    /// A 6 MiB module (more than the 4 MiB a config frame may hold) migrates as RAM: its file is
    /// deleted once the source has booted, the destination's guest hashes it right every 30
    /// frames, and the destination's frame 420 (drawn from the module's bytes) equals the
    /// unmigrated run's.
    func testAMigratedGuestStillReadsItsModule() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try scratchDir()
        let module = try writeModule(dir, "big.wad", count: 6 << 20, seed: 5)
        // The source, paced at 60 Hz, starts migrating at frame 30 and must hand over before
        // frame 420 (6.5 s later) for the destination, paced alike, to draw it.
        let frames = 420, geometry = ["--width", "320", "--height", "200", "--memory", "32M"]
        let r = try runRingside(["run", "--guest", "modules", "--args", "check=30", "--headless", "--guest-hz", "0", "--frames", "\(frames)",
                                 "--png", dir + "/ref", "--module", module.path] + geometry)
        XCTAssertEqual(r.status, 0, r.out + r.err)
        let reference = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/ref/" + MigrationCheck.pngName(frames)))

        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "\(frames)", "--png", dir + "/dst"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", "modules", "--args", "check=30", "--headless", "--tracking", "ring",
                                              "--module", module.path, "--migrate-to", "127.0.0.1:\(port)", "--migrate-at-frame", "30",
                                              "--verify-migration"] + geometry)
        XCTAssertTrue(src.waitForOutput("guest: modules: big.wad "), src.transcript)
        try FileManager.default.removeItem(atPath: module.path) // the destination must not need it
        XCTAssertEqual(src.exitStatus(), 0, src.transcript)
        XCTAssertEqual(dst.exitStatus(), 0, dst.transcript)
        let transcript = src.transcript + dst.transcript
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port): "), transcript)
        XCTAssertTrue(dst.out.contains(" pages verified"), transcript)
        XCTAssertEqual(src.err + dst.err, "", transcript)
        let hashes = dst.out.split(separator: "\n").filter { $0.hasPrefix("guest: modules: frame ") }
        XCTAssertFalse(hashes.isEmpty, "the guest hashed its module after arriving: \(transcript)")
        for line in hashes { XCTAssertTrue(line.hasSuffix(" big.wad fnv1a \(fnv1a(module.bytes))"), "\(line)") }
        let png = FileManager.default.contents(atPath: dir + "/dst/" + MigrationCheck.pngName(frames))
        XCTAssertTrue(png == reference, "the destination's frame \(frames) equals the unmigrated run's")
    }
}

import Foundation
import TestSupport
import XCTest

/// Headless PNG dumps, decoded by an independent decoder (Python's PIL, not libpng via Ringside)
/// and compared pixel for pixel with what the `pattern` guest drew at that frame.
final class PNGDumpTests: XCTestCase {
    func requireDecoder() throws {
        try requireKVMDevice()
        try DecodedPNG.requireDecoder()
    }

    func assertPattern(_ path: String, width: Int, height: Int, frame: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let png = try DecodedPNG(path: path)
        XCTAssertEqual(png.width, width, file: file, line: line)
        XCTAssertEqual(png.height, height, file: file, line: line)
        var mismatches = 0
        for y in 0..<png.height {
            for x in 0..<png.width where png.pixel(x: x, y: y) != patternPixel(x: x, y: y, frame: frame) { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0, "\(path) is exactly frame \(frame)", file: file, line: line)
    }

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "ringside-png-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    func testFramesNLeavesExactlyThePictureOfFrameN() throws {
        try requireDecoder()
        let dir = try tempDir()
        let r = try runRingside(["run", "--guest", "pattern", "--headless", "--guest-hz", "0", "--frames", "9", "--width", "203", "--height", "117", "--png", dir])
        XCTAssertEqual(r.status, 0, r.err)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertEqual(files, ["frame-000009.png"], "only the last frame by default, no temp files")
        try assertPattern(dir + "/frame-000009.png", width: 203, height: 117, frame: 9)
        XCTAssertTrue(r.out.contains("wrote 1 PNG file to \(dir)"), r.out)
        // A dump of the last frame only reads at the end: until then the display idled, and its
        // one whole sync is the one that brought it up to date for the file.
        XCTAssertTrue(r.out.contains("display: 1 syncs") && r.out.contains("more with no reader (harvest only)"), r.out)
    }

    func testAMissingNestedPNGDirectoryIsCreated() throws {
        try requireDecoder()
        let dir = try tempDir() + "/out/a/b/"
        let r = try runRingside(["run", "--guest", "pattern", "--headless", "--guest-hz", "0", "--frames", "3", "--width", "96", "--height", "64", "--png", dir])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["frame-000003.png"])
        try assertPattern(dir + "frame-000003.png", width: 96, height: 64, frame: 3)
        let mode = (try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int) ?? 0
        let mask = umask(0); umask(mask)
        XCTAssertEqual(mode, 0o755 & ~Int(mask), "made as mkdir -p would")
    }

    /// Two vCPUs when the host allows them; otherwise the test skips and says so.
    func requireTwoVCPUs() throws {
        let info = try runRingside(["info"]).out
        guard info.contains("2 recommended") || info.range(of: #"vCPUs:\s+([2-9]|\d\d+) recommended"#, options: .regularExpression) != nil else {
            throw XCTSkip("this host's KVM recommends one vCPU; the 2-vCPU dump needs two")
        }
    }

    func testPNGEveryNWritesEachNthFrameExactlyWithTwoVCPUs() throws {
        try requireDecoder()
        try requireTwoVCPUs()
        for tracking in ["ring", "bitmap"] {
            let dir = try tempDir()
            let r = try runRingside(["run", "--guest", "pattern", "--headless", "--guest-hz", "0", "--frames", "20", "--cpus", "2", "--tracking", tracking,
                                     "--width", "160", "--height", "90", "--png", dir, "--png-every", "5"])
            XCTAssertEqual(r.status, 0, r.err)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            XCTAssertEqual(files, ["frame-000005.png", "frame-000010.png", "frame-000015.png", "frame-000020.png"], tracking)
            for (i, f) in files.enumerated() { try assertPattern(dir + "/" + f, width: 160, height: 90, frame: (i + 1) * 5) }
        }
    }

    func testTheLastFrameDumpIsExactWithTwoVCPUs() throws {
        try requireDecoder()
        try requireTwoVCPUs()
        let dir = try tempDir()
        let r = try runRingside(["run", "--guest", "pattern", "--headless", "--guest-hz", "0", "--frames", "33", "--cpus", "2",
                                 "--width", "200", "--height", "111", "--png", dir])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["frame-000033.png"])
        try assertPattern(dir + "/frame-000033.png", width: 200, height: 111, frame: 33)
    }

    /// --png-on-change writes frame 1 and exactly the frames whose picture differs from the
    /// frame before, each equal to that frame: the oracle is a --png-every 1 dump of every frame.
    func onChangeMatchesEveryFrame(cpus: Int, tracking: String) throws {
        let all = try tempDir(), changed = try tempDir()
        let common = ["run", "--guest", "idle", "--args", "blink=7", "--headless", "--guest-hz", "0", "--frames", "40", "--cpus", "\(cpus)",
                      "--tracking", tracking, "--width", "160", "--height", "90"]
        let a = try runRingside(common + ["--png", all, "--png-every", "1"])
        XCTAssertEqual(a.status, 0, a.err)
        let r = try runRingside(common + ["--png", changed, "--png-on-change"])
        XCTAssertEqual(r.status, 0, r.err)
        // The encoder is deterministic, so equal pictures are equal files; the changed
        // frames are decoded independently to be sure they really differ.
        var expected: [String] = []
        var previous: Data?
        for n in 1...40 {
            let name = String(format: "frame-%06d.png", n)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: all + "/" + name))
            if previous == nil || bytes != previous! { expected.append(name) }
            previous = bytes
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: changed).sorted()
        XCTAssertEqual(files, expected, "\(cpus) vCPU(s), \(tracking): frame 1 and every frame that changed the picture")
        XCTAssertGreaterThan(expected.count, 3, "the cursor blinked several times")
        for f in files {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: changed + "/" + f)), try Data(contentsOf: URL(fileURLWithPath: all + "/" + f)), f)
        }
        let decoded = try expected.prefix(3).map { try DecodedPNG(path: all + "/" + $0).rgb }
        for i in 1..<decoded.count { XCTAssertNotEqual(decoded[i - 1], decoded[i], "consecutive changed frames really differ") }
    }

    func testPNGOnChangeWritesExactlyTheFramesThatChanged() throws {
        try requireDecoder()
        try onChangeMatchesEveryFrame(cpus: 1, tracking: "ring")
        try onChangeMatchesEveryFrame(cpus: 1, tracking: "bitmap")
    }

    func testPNGOnChangeWithTwoVCPUs() throws {
        try requireDecoder()
        try requireTwoVCPUs()
        try onChangeMatchesEveryFrame(cpus: 2, tracking: "ring")
    }

    func testShowSplitDumpsTheSplitViewHeadless() throws {
        try requireDecoder()
        let dir = try tempDir()
        let r = try runRingside(["run", "--guest", "bounce", "--headless", "--guest-hz", "0", "--frames", "20", "--width", "320", "--height", "200",
                                 "--png", dir, "--png-every", "10", "--show-split"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["frame-000010.png", "frame-000020.png"])
        let png = try DecodedPNG(path: dir + "/frame-000020.png")
        XCTAssertGreaterThan(png.width, 320 + 200, "the screen plus the page panel")
        XCTAssertGreaterThanOrEqual(png.height, 200)
        let rgb = png.rgb
        let orange = stride(from: 0, to: rgb.count, by: 3).contains { rgb[$0] == 0xFF && rgb[$0 + 1] == 0xB3 && rgb[$0 + 2] == 0x47 }
        XCTAssertTrue(orange, "listed pages are lit in the migration panel")
    }

    func testAFullDiskStopsTheRunWithOneLineAndLeavesOnlyWholeFiles() throws {
        try requireDecoder()
        let dir = try tempDir()
        // As root (CI, the project's machines) a failed mount is a failure; only a non-root run skips.
        guard getuid() == 0 else { throw unmetRequirement("mounting a small tmpfs needs root") }
        let mount = try runProgram(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=160k", "tmpfs", dir])
        XCTAssertEqual(mount.status, 0, "mount -t tmpfs works as root: \(mount.err)")
        guard mount.status == 0 else { return }
        addTeardownBlock { _ = try? runProgram(URL(fileURLWithPath: "/bin/umount"), [dir]) }
        let r = try runRingside(["run", "--guest", "pattern", "--headless", "--guest-hz", "0", "--frames", "200", "--width", "320", "--height", "200",
                                 "--png", dir, "--png-every", "1"])
        XCTAssertNotEqual(r.status, 0, "a full disk is an error")
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertTrue(r.err.lowercased().contains("space"), r.err)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertFalse(files.isEmpty, "some frames fit before the disk filled")
        XCTAssertTrue(files.allSatisfy { $0.hasPrefix("frame-") && $0.hasSuffix(".png") }, "no temp files left: \(files)")
        for (i, f) in files.enumerated() { try assertPattern(dir + "/" + f, width: 320, height: 200, frame: i + 1) }
    }
}

import Foundation
import TestSupport
import XCTest

/// Run-time mode setting from the guest's side, end to end through the CLI: the `modes`
/// guest asks for modes through the DISPI registers at known frames, PNG files follow, and
/// bad modes are refused with one line each while the guest runs on.
final class ModeSetTests: XCTestCase {
    func requireDecoder() throws {
        try requireKVMDevice()
        try DecodedPNG.requireDecoder()
    }

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "ringside-modes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    func file(_ dir: String, _ frame: Int) -> String { dir + String(format: "/frame-%06d.png", frame) }

    /// 1280x800 -> 1920x1080 -> 800x600 -> 1280x800: every file has the size of the mode its
    /// frame was drawn in, and its picture equals that frame of a run started in that mode.
    func testPNGFilesFollowTheModeAndEqualARunStartedInIt() throws {
        try requireDecoder()
        let dir = try tempDir()
        let r = try runRingside(["run", "--guest", "modes", "--args", "modes=1280x800@0,1920x1080@10,800x600@20,1280x800@30",
                                 "--headless", "--guest-hz", "0", "--frames", "40", "--png", dir, "--png-every", "5", "--stats"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.err)
        let expected = [5: (1280, 800), 10: (1920, 1080), 15: (1920, 1080), 20: (800, 600), 25: (800, 600), 30: (1280, 800), 40: (1280, 800)]
        for (frame, size) in expected {
            let png = try DecodedPNG(path: file(dir, frame))
            XCTAssertEqual([png.width, png.height], [size.0, size.1], "frame \(frame)")
        }
        XCTAssertTrue(r.out.contains("3 mode sets, now 1280x800"), r.out)
        XCTAssertTrue(r.out.contains("mode sets: 3, from the DISPI ENABLE write"), r.out)

        for (frame, w, h) in [(15, 1920, 1080), (25, 800, 600), (35, 1280, 800)] {
            let direct = try tempDir()
            let d = try runRingside(["run", "--guest", "modes", "--width", "\(w)", "--height", "\(h)", "--headless", "--guest-hz", "0",
                                     "--frames", "\(frame)", "--png", direct], timeout: 120)
            XCTAssertEqual(d.status, 0, d.err)
            let a = try DecodedPNG(path: file(dir, frame)), b = try DecodedPNG(path: file(direct, frame))
            XCTAssertEqual([a.width, a.height], [b.width, b.height])
            XCTAssertTrue(a.rgb == b.rgb, "frame \(frame) after mode sets equals frame \(frame) of a run started at \(w)x\(h)")
            // Not vacuous: the picture shows its geometry and frame (white text on black at 16, 16).
            XCTAssertEqual(a.pixel(x: 0, y: 0), 0xFF_FFFF, "the border")
            XCTAssertEqual(a.pixel(x: 16, y: 16), 0, "the text background")
        }
    }

    /// 0x0, 99999x1, 8 bpp and 7681x4320 are refused: one warning line each (a repeat is not
    /// printed again), the guest reads back the old mode and runs to its last frame.
    func testInvalidModesAreRefusedCleanly() throws {
        try requireDecoder()
        let dir = try tempDir()
        let r = try runRingside(["run", "--guest", "modes", "--args", "modes=640x480@2,0x0@3,99999x1@4,1024x768x8@5,7681x4320@6,0x0@7",
                                 "--headless", "--guest-hz", "0", "--frames", "9", "--png", dir])
        XCTAssertEqual(r.status, 0, r.err)
        let warnings = r.err.split(separator: "\n").filter { $0.contains("asked for a display mode") }
        XCTAssertEqual(warnings.count, 4, r.err)
        for bad in ["mode 0x0 at 32 bpp", "mode 99999x1 at 32 bpp", "mode 1024x768 at 8 bpp", "mode 7681x4320 at 32 bpp"] {
            XCTAssertTrue(warnings.contains { $0.contains(bad) }, "\(bad) in \(r.err)")
        }
        for frame in 3...7 { XCTAssertTrue(r.out.contains("modes: frame \(frame): "), "the guest saw the refusal at frame \(frame): \(r.out)") }
        XCTAssertTrue(r.out.contains("refused, still 640x480"), r.out)
        let png = try DecodedPNG(path: file(dir, 9))
        XCTAssertEqual([png.width, png.height], [640, 480], "the last good mode stayed in force")
    }

    /// --max-framebuffer bounds what the guest may set, and is checked before boot.
    func testMaxFramebufferBoundsModes() throws {
        try requireDecoder()
        let dir = try tempDir()
        let r = try runRingside(["run", "--guest", "modes", "--args", "modes=1920x1080@2,2560x1440@3", "--max-framebuffer", "1920x1080",
                                 "--headless", "--guest-hz", "0", "--frames", "4", "--png", dir])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("mode 2560x1440 at 32 bpp: the size must be 64x64 up to 1920x1080"), r.err)
        let png = try DecodedPNG(path: file(dir, 4))
        XCTAssertEqual([png.width, png.height], [1920, 1080])

        let small = try runRingside(["run", "--headless", "--frames", "1", "--max-framebuffer", "640x480"])
        XCTAssertEqual(small.status, 1)
        XCTAssertTrue(small.err.contains("--max-framebuffer 640x480 is smaller than the initial mode 1280x800"), small.err)
        let bad = try runRingside(["run", "--headless", "--frames", "1", "--max-framebuffer", "big"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.err.contains("--max-framebuffer 'big' is not a mode size"), bad.err)
    }

    /// A guest that set modes migrates in the mode it has, to a destination whose framebuffer
    /// slot is as large as the source's, and sets other modes there (its schedule repeats, so
    /// it does so wherever the migration leaves it): every frame the destination writes, in
    /// whichever mode, equals that frame of a run that never moved.
    func testAMigratedGuestKeepsItsModeAndSetsAnotherAtTheDestination() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "modes")
        let args = "modes=400x300@0,640x480@20,800x600@40 repeat=60"
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--png", dir + "/dst", "--png-every", "1"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", "modes", "--args", args, "--headless", "--width", "320", "--height", "200",
                                              "--max-framebuffer", "800x600", "--memory", "32M", "--migrate-to", "127.0.0.1:\(port)",
                                              "--migrate-at-frame", "25", "--verify-migration"])
        XCTAssertEqual(src.exitStatus(), 0, src.transcript + dst.transcript)
        // Stop the destination once its files show two sizes: a mode set of its own.
        func sizes() -> Set<String> {
            Set(MigrationCheck.pngFiles(dir + "/dst").compactMap { MigrationCheck.pngSize(dir + "/dst/" + $0).map { "\($0.width)x\($0.height)" } })
        }
        _ = poll(timeout: 120, every: 0.01) { sizes().count >= 2 || !dst.isRunning }
        let files = dst.stopAfterDrawing(filesIn: dir + "/dst")
        XCTAssertEqual(dst.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port): "), src.transcript)
        XCTAssertTrue(dst.out.contains(" pages verified"), dst.transcript)
        XCTAssertEqual(src.err, "", src.transcript)
        XCTAssertEqual(dst.err, RingsideProcess.sigtermLine, dst.transcript)
        XCTAssertGreaterThanOrEqual(sizes().count, 2, "the guest set a mode at the destination: \(files)\n\(dst.transcript)")
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: dir + "/dst", guest: "modes", args: args, width: 320, height: 200,
                                                          memory: "32M", extra: ["--max-framebuffer", "800x600"], refDir: dir + "/ref"))
    }
}

import Foundation
import TestSupport
import XCTest

/// `ringside run` in a real window on a private Xvfb: the screen shows the same picture as the
/// PNG dump of the same guest frame.
final class WindowEndToEndTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    func testTheWindowShowsTheSamePictureAsThePNGDumpOfThatFrame() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        let screen = try XvfbScreen.acquire()
        let dir = NSTemporaryDirectory() + "ringside-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let geometry = ["--width", "320", "--height", "200"]

        let dump = try runRingside(["run", "--guest", "desktop", "--headless", "--guest-hz", "0", "--frames", "40", "--png", dir] + geometry)
        XCTAssertEqual(dump.status, 0, dump.err)
        try DecodedPNG.requireDecoder()
        let png = try DecodedPNG(path: dir + "/frame-000040.png")
        let (w, h) = (png.width, png.height)
        var expected = [UInt32](repeating: 0, count: w * h)
        for y in 0..<h { for x in 0..<w { expected[y * w + x] = png.pixel(x: x, y: y) } }

        // The window stays open on the final frame after --frames until --seconds closes it.
        var env = ProcessInfo.processInfo.environment
        env["DISPLAY"] = screen.display
        let p = Process()
        p.executableURL = ringsideExecutable()
        p.arguments = ["run", "--guest", "desktop", "--guest-hz", "0", "--frames", "40", "--seconds", "4"] + geometry
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        Thread.sleep(forTimeInterval: 2)
        let shot = try screen.capture(savingTo: dir + "/screen.png")
        p.waitUntilExit()
        let log = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, log)
        XCTAssertFalse(log.contains("running headless"), "a window was opened: \(log)")

        // Find the window: the PNG's top-left pixel, then the whole picture.
        var found: (Int, Int)?
        search: for oy in 0...(shot.height - h) {
            for ox in 0...(shot.width - w) where shot.pixel(x: ox, y: oy) == expected[0] {
                if shot.pixel(x: ox + w - 1, y: oy + h - 1) == expected[w * h - 1] && shot.pixel(x: ox + w / 2, y: oy + h / 2) == expected[(h / 2) * w + w / 2] {
                    found = (ox, oy)
                    break search
                }
            }
        }
        guard let (ox, oy) = found else { return XCTFail("the guest's picture is not on the screen (see \(dir)/screen.png)") }
        var mismatches = 0
        for y in 0..<h { for x in 0..<w where shot.pixel(x: ox + x, y: oy + y) != expected[y * w + x] { mismatches += 1 } }
        XCTAssertEqual(mismatches, 0, "the window at (\(ox), \(oy)) shows frame 40 exactly as the PNG dump")
    }
}

import Foundation
import TestSupport
import XCTest

/// `ringside run` in a real window on a private Xvfb: the screen shows the same picture as the
/// PNG dump of the same guest frame.
final class WindowEndToEndTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    /// Decodes a PNG with PIL (not Ringside's libpng path) into 0x00RRGGBB pixels.
    func decodePNG(_ path: String) throws -> (Int, Int, [UInt32]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import sys; from PIL import Image; im = Image.open(sys.argv[1]).convert('RGB'); "
            + "sys.stdout.write('%d %d\\n' % im.size); sys.stdout.flush(); sys.stdout.buffer.write(im.tobytes())", path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let nl = data.firstIndex(of: 0x0A) else { throw XCTSkip("needs python3-pil to decode PNG files") }
        let dims = String(decoding: data[..<nl], as: UTF8.self).split(separator: " ").map { Int($0)! }
        let rgb = Array(data[(nl + 1)...])
        var pixels = [UInt32](repeating: 0, count: dims[0] * dims[1])
        for i in pixels.indices {
            let r = UInt32(rgb[3 * i]), g = UInt32(rgb[3 * i + 1]), b = UInt32(rgb[3 * i + 2])
            pixels[i] = r << 16 | g << 8 | b
        }
        return (dims[0], dims[1], pixels)
    }

    func testTheWindowShowsTheSamePictureAsThePNGDumpOfThatFrame() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        let screen = try XvfbScreen.acquire()
        let dir = NSTemporaryDirectory() + "ringside-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let geometry = ["--width", "320", "--height", "200"]

        let dump = try runRingside(["run", "--guest", "desktop", "--headless", "--guest-hz", "0", "--frames", "40", "--png", dir] + geometry)
        XCTAssertEqual(dump.status, 0, dump.err)
        let (w, h, expected) = try decodePNG(dir + "/frame-000040.png")

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

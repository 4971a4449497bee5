import Foundation
import TestSupport
import XCTest

/// `ringside run` in a real window on a private Xvfb: the screen shows the same picture as the
/// PNG dump of the same guest frame.
final class WindowEndToEndTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    func testTheWindowShowsTheSamePictureAsThePNGDumpOfThatFrame() throws {
        try requireKVMDevice()
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

        // The window stays open on the final frame after --frames: screenshots until it shows
        // it (on a loaded host a window appears when its process gets to it), then SIGTERM.
        let run = try WindowRun(["--guest", "desktop", "--guest-hz", "0", "--frames", "40"] + geometry, title: nil)
        let found = try run.screen.waitForPicture(width: w, height: h, savingTo: dir + "/screen.png") { expected[$1 * w + $0] }
        run.process.terminate()
        XCTAssertEqual(run.exitStatus(), 0, run.log())
        XCTAssertFalse(run.log().contains("running headless"), "a window was opened: \(run.log())")
        XCTAssertNotNil(found, "the guest's picture is not on the screen (see \(dir)/screen.png)")
        XCTAssertEqual(found?.wrong, 0, "the window at \(found.map { "(\($0.x), \($0.y))" } ?? "?") shows frame 40 exactly as the PNG dump")
    }
}

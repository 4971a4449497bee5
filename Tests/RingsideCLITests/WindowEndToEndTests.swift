import Foundation
import TestSupport
import XCTest

/// `ringside run` in a real window on a private Xvfb: the screen shows the same picture as the
/// PNG dump of the same guest frame.
final class WindowEndToEndTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    func testTheWindowShowsTheSamePictureAsThePNGDumpOfThatFrame() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
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

        // Where the window shows the PNG: its top-left pixel, then the corner and the centre.
        func locate(_ shot: Screenshot) -> (Int, Int)? {
            for oy in 0...(shot.height - h) {
                for ox in 0...(shot.width - w) where shot.pixel(x: ox, y: oy) == expected[0] {
                    if shot.pixel(x: ox + w - 1, y: oy + h - 1) == expected[w * h - 1] && shot.pixel(x: ox + w / 2, y: oy + h / 2) == expected[(h / 2) * w + w / 2] {
                        return (ox, oy)
                    }
                }
            }
            return nil
        }

        // The window stays open on the final frame after --frames until --seconds closes it;
        // on a loaded host it may take a while to appear, so look again a few times.
        let run = try WindowRun(["--guest", "desktop", "--guest-hz", "0", "--frames", "40"] + geometry, title: nil, seconds: 4)
        var shot: Screenshot?, found: (Int, Int)?
        for attempt in 0..<4 where found == nil {
            Thread.sleep(forTimeInterval: attempt == 0 ? 2 : 0.4)
            shot = try run.screen.capture(savingTo: dir + "/screen.png")
            found = shot.flatMap(locate)
        }
        XCTAssertEqual(run.exitStatus(timeout: 30), 0, run.log())
        XCTAssertFalse(run.log().contains("running headless"), "a window was opened: \(run.log())")
        guard let shot, let (ox, oy) = found else { return XCTFail("the guest's picture is not on the screen (see \(dir)/screen.png)") }
        var mismatches = 0
        for y in 0..<h { for x in 0..<w where shot.pixel(x: ox + x, y: oy + y) != expected[y * w + x] { mismatches += 1 } }
        XCTAssertEqual(mismatches, 0, "the window at (\(ox), \(oy)) shows frame 40 exactly as the PNG dump")
    }
}

import Foundation
import TestSupport
import XCTest

/// The README's paint screenshot is drawn by a shipped input script (assets/input/paint-demo.txt):
/// the strokes land where the script puts them, and docs/images/paint.png is that picture.
final class PaintDemoScriptTests: XCTestCase {
    static let red: UInt32 = 0xE53935, orange: UInt32 = 0xFB8C00, green: UInt32 = 0x43A047
    static let blue: UInt32 = 0x1E88E5, purple: UInt32 = 0x8E24AA, black: UInt32 = 0x000000, white: UInt32 = 0xFFFFFF

    func testTheDemoScriptDrawsTheWordAndTheShapesAndIsTheReadmeScreenshot() throws {
        try requireKVMDevice()
        try DecodedPNG.requireDecoder()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("assets/input/paint-demo.txt").path
        let dir = NSTemporaryDirectory() + "ringside-paint-demo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runRingside(["run", "--guest", "paint", "--headless", "--input-script", script,
                                 "--frames", "160", "--png", dir, "--png-every", "160"])
        XCTAssertEqual(r.status, 0, r.err)
        // One event a line (the script has no `type` lines): every one reached the guest.
        let events = try String(contentsOfFile: script, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        XCTAssertTrue((r.out + r.err).contains("input: \(events) events delivered"), r.out + r.err)
        let png = try DecodedPNG(path: dir + "/frame-000160.png")
        XCTAssertEqual(png.width, 1280)
        XCTAssertEqual(png.height, 800)
        // Where strokes must be (brush 12 for the letters, 6 afterwards), and where not.
        let ink: [(x: Int, y: Int, colour: UInt32, what: String)] = [
            (328, 200, Self.red, "R's stem"), (376, 150, Self.red, "R's top"), (392, 246, Self.red, "R's leg"),
            (440, 150, Self.orange, "the dot of the first i"), (440, 220, Self.orange, "the first i"),
            (600, 278, Self.green, "g's descender"), (760, 150, Self.purple, "the dot of the second i"),
            (872, 150, Self.red, "d's stem"), (328, 310, Self.blue, "the wavy underline's start"),
            (330, 480, Self.black, "the square's top side"), (400, 550, Self.black, "its right side"),
            (715, 550, Self.green, "the circle's right edge"), (640, 475, Self.green, "its top"),
            (950, 480, Self.red, "the triangle's apex"), (950, 620, Self.red, "its base"),
        ]
        for p in ink { XCTAssertEqual(png.pixel(x: p.x, y: p.y), p.colour, "\(p.what) at (\(p.x), \(p.y))") }
        for (x, y) in [(330, 550), (640, 550), (950, 580), (100, 700), (1200, 100), (352, 225)] {
            XCTAssertEqual(png.pixel(x: x, y: y), Self.white, "canvas left white at (\(x), \(y))")
        }
        XCTAssertEqual(png.pixel(x: 4 + 28 - 2, y: 1), 0xFCE94F, "swatch 2 (red, the last colour picked) is highlighted")

        let readme = try DecodedPNG(path: root.appendingPathComponent("docs/images/paint.png").path)
        XCTAssertEqual(readme.width, png.width)
        XCTAssertEqual(readme.height, png.height)
        XCTAssertTrue(readme.rgb == png.rgb, "docs/images/paint.png is the script's frame 160")
    }
}

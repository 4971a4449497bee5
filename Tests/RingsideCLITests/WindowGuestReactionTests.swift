import Foundation
import TestSupport
import XCTest

/// Real X events (xdotool) into a real window on a private Xvfb, and the guest's picture
/// afterwards (Ctrl+Alt+S writes ./ringside-FRAME.png of the guest screen): text typed into
/// `terminal` appears at its prompt exactly as a scripted run types it, and a drag in `paint`
/// leaves a stroke along the path.
final class WindowGuestReactionTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    /// A window run whose screenshots can be decoded.
    func start(_ arguments: [String], title: String) throws -> WindowRun {
        try DecodedPNG.requireDecoder()
        return try WindowRun(arguments, title: title)
    }

    func testTextTypedIntoTheTerminalWindowAppearsAtItsPromptAsAScriptTypesIt() throws {
        let run = try start(["--guest", "terminal", "--args", "lines=0", "--width", "320", "--height", "200"], title: "Ringside: terminal")
        // The same keys from a script, headless: the prompt row (y 176...191) the window must show.
        let script = run.dir + "/typed.txt"
        try "2 type Hi ok\n".write(toFile: script, atomically: true, encoding: .utf8)
        let r = try runRingside(["run", "--guest", "terminal", "--args", "lines=0", "--width", "320", "--height", "200", "--headless",
                                 "--input-script", script, "--frames", "10", "--png", run.dir + "/png", "--png-every", "10"])
        XCTAssertEqual(r.status, 0, r.err)
        let want = try DecodedPNG(path: run.dir + "/png/frame-000010.png")
        func wrongInPromptRow(_ shot: DecodedPNG) -> Int {
            guard shot.width == 320, shot.height == 200 else { return -1 }
            var wrong = 0
            for y in 176..<192 { for x in 0..<320 where shot.pixel(x: x, y: y) != want.pixel(x: x, y: y) { wrong += 1 } }
            return wrong
        }
        try run.xdo(["type", "--delay", "40", "Hi ok"])
        // Screenshots until the guest has drawn the keys (it does when it gets to them).
        let shot = try run.screenshot { wrongInPromptRow($0) == 0 }
        XCTAssertEqual(try run.quit(), 0, run.log())
        XCTAssertEqual(shot.width, 320)
        XCTAssertEqual(shot.height, 200)
        XCTAssertEqual(wrongInPromptRow(shot), 0, "the prompt row with the typed text and cursor equals the scripted run's")
        XCTAssertNotEqual(shot.pixel(x: 144, y: 176 + 8), shot.pixel(x: 144 + 40, y: 176 + 8), "glyph pixels differ from the cursor's")
        var typed = 0
        for y in 176..<192 { for x in 144..<184 where shot.pixel(x: x, y: y) == 0xD3D7CF { typed += 1 } }
        XCTAssertGreaterThan(typed, 40, "'Hi ok' is drawn in the text colour after the prompt")
    }

    /// Resizing the window (as a window manager would, with xdotool) makes desktop and paint
    /// set a mode of the window's size and redraw for it.
    func testDesktopAndPaintFollowAResizedWindow() throws {
        for guest in ["desktop", "paint"] {
            let run = try start(["--guest", guest, "--width", "640", "--height", "480", "--stats"], title: "Ringside: \(guest)")
            try run.xdo(["windowsize", run.id, "800", "500"])
            func redrawn(_ shot: DecodedPNG) -> Bool {
                guard shot.width == 800, shot.height == 500 else { return false }
                return guest == "desktop" ? (0..<700).allSatisfy { shot.pixel(x: $0, y: 500 - 28) == 0x555753 }
                                          : shot.pixel(x: 790, y: 12) == 0x2E3436 && shot.pixel(x: 790, y: 490) == 0xFFFFFF
            }
            let shot = try run.screenshot(until: redrawn)
            XCTAssertTrue(run.waitForLog("now 800x500"), "\(guest) set the window's size: \(run.log())")
            XCTAssertEqual(try run.quit(), 0, run.log())
            XCTAssertEqual(shot.width, 800, guest)
            XCTAssertEqual(shot.height, 500, guest)
            if guest == "desktop" {
                XCTAssertEqual((0..<700).filter { shot.pixel(x: $0, y: 500 - 28) != 0x555753 }, [], "desktop's taskbar at the new bottom edge")
            } else {
                XCTAssertEqual(shot.pixel(x: 790, y: 12), 0x2E3436, "paint's strip across the new width")
                XCTAssertEqual(shot.pixel(x: 790, y: 490), 0xFFFFFF, "and a white canvas under it")
            }
        }
    }

    func testADragInThePaintWindowLeavesAStrokeAlongThePath() throws {
        let W = 320, H = 200
        let run = try start(["--guest", "paint", "--width", "\(W)", "--height", "\(H)"], title: "Ringside: paint")
        // Window pixels to framebuffer pixels: the picture is scaled to fit and centred.
        let (ww, wh) = try run.windowSize()
        XCTAssertGreaterThan(ww, 0, "window geometry")
        let scale = min(Double(ww) / Double(W), Double(wh) / Double(H))
        let ox = (Double(ww) - Double(W) * scale) / 2, oy = (Double(wh) - Double(H) * scale) / 2
        func window(_ x: Int, _ y: Int) -> [String] { ["\(Int(ox + (Double(x) + 0.5) * scale))", "\(Int(oy + (Double(y) + 0.5) * scale))"] }
        // X delivers these in order, and the guest takes them in order.
        try run.xdo(["mousemove", "--window", run.id] + window(40, 100))
        try run.xdo(["mousedown", "1"])
        for x in stride(from: 60, through: 280, by: 20) { try run.xdo(["mousemove", "--window", run.id] + window(x, 100)) }
        try run.xdo(["mousemove", "--window", run.id] + window(280, 160))
        try run.xdo(["mouseup", "1"])
        try run.xdo(["mousemove", "--window", run.id] + window(20, 190))  // moving without the button draws nothing
        // Then a key whose effect shows (2 picks red: its swatch is highlighted): once the
        // screen shows it, the guest has taken every event before it.
        try run.xdo(["key", "2"])
        let shot = try run.screenshot { $0.width == W && $0.pixel(x: 4 + 28 - 2, y: 1) == 0xFCE94F }
        XCTAssertEqual(try run.quit(), 0, run.log())
        XCTAssertEqual(shot.width, W)
        XCTAssertEqual(shot.pixel(x: 4 + 28 - 2, y: 1), 0xFCE94F, "the key after the drag was taken: swatch 2 is highlighted")
        for x in stride(from: 44, through: 276, by: 8) { XCTAssertEqual(shot.pixel(x: x, y: 100), 0x000000, "the stroke at (\(x), 100)") }
        for y in stride(from: 104, through: 156, by: 8) { XCTAssertEqual(shot.pixel(x: 280, y: y), 0x000000, "the stroke at (280, \(y))") }
        for (x, y) in [(160, 60), (160, 140), (20, 190), (100, 180), (300, 40)] {
            XCTAssertEqual(shot.pixel(x: x, y: y), 0xFFFFFF, "canvas untouched at (\(x), \(y))")
        }
    }
}

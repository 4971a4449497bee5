import Foundation
import TestSupport
import XCTest

/// The guest's cursor plane as the host's cursor, read back from the X server with XFixes
/// (a screenshot never contains the X cursor): Ringside's SDL window for `paint`, and TigerVNC's
/// viewer, which draws a server's Cursor (-239) shape as its own local cursor.
final class WindowCursorTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    static let python = "/usr/bin/python3"
    /// Prints the X server's current cursor: "W H XHOT YHOT ARGB-of-the-hot-spot".
    static let script = """
        from Xlib import display
        d = display.Display()
        d.xfixes_query_version()
        c = d.xfixes_get_cursor_image(d.screen().root)
        print(c.width, c.height, c.xhot, c.yhot, '%08x' % (c.cursor_image[c.yhot * c.width + c.xhot] & 0xFFFFFFFF))
        """

    /// The X cursor as "W H XHOT YHOT ARGB" once it is `want`, or the last one read (at most 60 s).
    func waitForCursor(_ screen: XvfbScreen, _ want: String, moving: () throws -> Void) throws -> String {
        var last = ""
        _ = poll(timeout: 60, every: 0.1) {
            try? moving()
            let r = try? screen.withDisplay { try runProgram(URL(fileURLWithPath: Self.python), ["-c", Self.script], timeout: 30) }
            last = r?.out.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return last == want
        }
        return last
    }

    func testTheWindowShowsPaintsCrosshairAsTheHostCursor() throws {
        try requirePythonModule("Xlib.ext.xfixes", install: "apt-get install python3-xlib", python: Self.python)
        let run = try WindowRun(["--guest", "paint", "--width", "320", "--height", "200"], title: "Ringside: paint")
        var x = 100
        let got = try waitForCursor(run.screen, "11 11 5 5 ff000000") {
            x = x == 100 ? 120 : 100 // a motion each try: the guest shows the crosshair once the pointer moved
            try run.xdo(["mousemove", "--window", run.id, "\(x)", "80"])
        }
        XCTAssertEqual(got, "11 11 5 5 ff000000", "the X cursor over the window is paint's 11x11 crosshair, hot spot 5,5, black centre\n\(run.log())")
    }

    func testTigerVNCShowsTheCursorShape() throws {
        try requireKVMDevice()
        try requirePythonModule("Xlib.ext.xfixes", install: "apt-get install python3-xlib", python: Self.python)
        let viewer = try requireTool("xtigervncviewer", install: "apt-get install tigervnc-viewer")
        let xdotool = try requireTool("xdotool", install: "apt-get install xdotool")
        let screen = try XvfbScreen.acquire()
        let (p, port) = try startVNCRingside(["--guest", "paint", "--width", "320", "--height", "200", "--seconds", "300", "--log-input"])
        defer { p.signal(SIGTERM); _ = p.exitStatus() }
        let v = try screen.launch(viewer, ["127.0.0.1::\(port)"])
        defer { end(v) }
        var window = ""
        var x = 100
        let got = try waitForCursor(screen, "11 11 5 5 ff000000") {
            if window.isEmpty { window = screen.window(named: "ringside", xdotool: xdotool) ?? "" }
            guard !window.isEmpty else { return }
            x = x == 100 ? 120 : 100
            // The viewer sends motion only once the pointer entered its window: a right click
            // (paint's eraser, on a white canvas) makes it send where the pointer is.
            _ = try screen.xdotool(xdotool, ["mousemove", "--window", window, "\(x)", "80", "click", "3"])
        }
        XCTAssertEqual(got, "11 11 5 5 ff000000", "TigerVNC's local cursor is paint's crosshair\n\(p.transcript)")
    }
}

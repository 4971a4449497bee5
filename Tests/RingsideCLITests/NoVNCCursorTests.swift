import Foundation
import TestSupport
import XCTest

/// noVNC shows the guest's cursor plane: it lists Cursor (-239) and, on a desktop browser, sets
/// the shape it receives as the CSS cursor of its canvas, a PNG data URL with the hot spot.
/// Headless Chromium's DOM dump holds that style (a screenshot never shows the mouse cursor).
final class NoVNCCursorTests: XCTestCase {
    func testNoVNCSetsPaintsCrosshairAsTheCanvasCursor() throws {
        try requireKVMDevice()
        try DecodedPNG.requireDecoder()
        let chromium = try HeadlessNoVNC.requireChromiumAndNoVNC()
        let dir = try MigrationCheck.tempDir(self, "novnc-cursor")
        let script = dir + "/pointer.txt"
        try "2 pointer 100 80\n".write(toFile: script, atomically: true, encoding: .utf8) // paint shows its crosshair once the pointer moved
        let p = try RingsideProcess("vnc", ["run", "--headless", "--vnc-websocket", "127.0.0.1:0", "--guest", "paint", "--width", "320",
                                            "--height", "200", "--input-script", script, "--frames", "25", "--png", dir, "--seconds", "300"])
        defer { p.signal(SIGTERM); _ = p.exitStatus() }
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 60), p.transcript)
        guard let port = p.printedPort(after: "VNC over WebSocket on 127.0.0.1:") else { return XCTFail("no WebSocket port\n\(p.transcript)") }
        let seen = try HeadlessNoVNC.lookUntilFound(chromium, ["--dump-dom", "http://127.0.0.1:\(port)/vnc.html?autoconnect=true&resize=off"]) {
            Self.canvasCursor(in: $0.out)
        }
        let found = try XCTUnwrap(seen.found, "noVNC's canvas has a data-URL cursor (\(seen.tries) tries)\n\(p.transcript)\n\(seen.last.out.suffix(3000))")
        XCTAssertEqual(found.hot, "5 5", "the hot spot is the crosshair's centre")
        let file = dir + "/cursor.png"
        try found.png.write(to: URL(fileURLWithPath: file))
        let shape = try DecodedPNG(path: file)
        XCTAssertEqual([shape.width, shape.height], [11, 11], "paint's 11x11 crosshair")
        XCTAssertEqual(shape.pixel(x: 5, y: 5), 0x000000, "its black centre")
    }

    /// The PNG and hot spot of `cursor: url("data:image/png;base64,...") X Y` in a style attribute.
    static func canvasCursor(in dom: String) -> (png: Data, hot: String)? {
        let pattern = try! NSRegularExpression(pattern: #"cursor: url\(&quot;data:image/png;base64,([A-Za-z0-9+/=]+)&quot;\) (\d+ \d+)"#)
        guard let m = pattern.firstMatch(in: dom, range: NSRange(dom.startIndex..., in: dom)),
              let b64 = Range(m.range(at: 1), in: dom), let hot = Range(m.range(at: 2), in: dom),
              let png = Data(base64Encoded: String(dom[b64])) else { return nil }
        return (png, String(dom[hot]))
    }
}

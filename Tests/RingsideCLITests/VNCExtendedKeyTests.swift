import Foundation
import TestSupport
import XCTest

/// QEMU's Extended Key Event against a real guest: a client that announces it is told so in
/// its next update, and its keys reach the guest by their XT codes, whatever the keysym.
final class VNCExtendedKeyTests: XCTestCase {
    /// The key event a QEMU-aware client sends: message 255, subtype 0, down, keysym, XT code.
    static func extendedKey(down: Bool, keysym: UInt32, keycode: UInt32) -> [UInt8] {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        return [255, 0, 0, down ? 1 : 0] + be(keysym) + be(keycode)
    }

    /// A client on a German layout presses its Z key (keysym 'z', XT code 0x15 of the US Y
    /// key) and its AltGr (0xE0 0x38): the guest gets KEY_Y and KEY_RIGHTALT, as a QEMU
    /// guest would; a plain KeyEvent 'z' still goes through the US table as KEY_Z.
    func testXTCodesReachTheGuestWithoutALayout() throws {
        try requireKVMDevice()
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--width", "320", "--height", "200", "--log-input", "--seconds", "300"])
        let c = try RawRFBClient(port: port)
        let size = try c.handshake()
        c.setEncodings([0, -258])
        c.requestUpdate(incremental: true, width: size.0, height: size.1)
        var ack = false
        for _ in 0..<100 where !ack {
            let rects = try c.readUpdate()
            ack = rects.contains { $0.encoding == -258 }
            if !ack { c.requestUpdate(incremental: true, width: size.0, height: size.1) }
        }
        XCTAssertTrue(ack, "no QEMU Extended Key Event rectangle in the updates")
        c.send(Self.extendedKey(down: true, keysym: 0x7A, keycode: 0x15) + Self.extendedKey(down: false, keysym: 0x7A, keycode: 0x15)
               + Self.extendedKey(down: true, keysym: 0xFE03, keycode: 0xB8) + Self.extendedKey(down: false, keysym: 0xFE03, keycode: 0xB8)
               + [4, 1, 0, 0, 0, 0, 0, 0x7A, 4, 0, 0, 0, 0, 0, 0, 0x7A])
        XCTAssertTrue(p.waitForOutput("key up KEY_Z", timeout: 60), p.transcript)
        let keys = p.out.split(separator: "\n").filter { $0.hasPrefix("input: ") && $0.contains(" key ") }.map { String($0.split(separator: ":").last!) }
        XCTAssertEqual(keys, [" key down KEY_Y", " key up KEY_Y", " key down KEY_RIGHTALT", " key up KEY_RIGHTALT", " key down KEY_Z", " key up KEY_Z"],
                       p.transcript)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

    /// TigerVNC's viewer (which sends keys by XT code once the server acknowledges -258):
    /// xdotool types 'a' into its window, the guest gets KEY_A, and the viewer's last line
    /// counts its key events by XT code.
    func testTigerVNCViewerSendsKeysByXTCode() throws {
        try requireKVMDevice()
        let viewer = try requireTool("xtigervncviewer", install: "apt-get install tigervnc-viewer")
        let xdotool = try requireTool("xdotool", install: "apt-get install xdotool")
        let screen = try XvfbScreen.acquire()
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--width", "320", "--height", "200", "--log-input", "--seconds", "300"])
        let v = try screen.launch(viewer, ["127.0.0.1::\(port)"])
        defer { end(v) }
        XCTAssertTrue(p.waitForOutput("connected (RFB 3.8", timeout: 120), p.transcript)
        let window = screen.waitForWindow(named: "ringside", xdotool: xdotool)
        // The viewer may still be setting up when its window appears, and it sends plain
        // KeyEvents until the update acknowledging -258 reaches it: press until it uses XT codes.
        waitFor("KEY_A from the viewer by XT code", every: 0.5) {
            _ = try? screen.xdotool(xdotool, ["windowfocus", "--sync", window, "key", "a"])
            return p.out.contains("key up KEY_A") && p.out.contains("sends keys by XT code")
        }
        end(v)
        XCTAssertTrue(p.waitForOutput("key events by XT code", timeout: 60), "the disconnect line counts them\n\(p.transcript)")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }
}

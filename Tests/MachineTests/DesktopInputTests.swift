import Foundation
import Input
import KVM
import Machine
import TestSupport
import XCTest

/// The desktop guest under pointer and key events on real KVM: dragging and raising windows,
/// focus, and the scripted cursor when no pointer comes.
final class DesktopInputTests: XCTestCase, GuestInputFixtures {
    static let activeTitle: UInt32 = 0x4A86C8, inactiveTitle: UInt32 = 0x9AA4AE, terminalBody: UInt32 = 0x16181C

    func testDesktopDraggingATitleBarMovesTheWindow() throws {
        let W = 640, H = 480
        let before = try runGuest("desktop", width: W, height: H, frames: 2)
        let title = before.longestRun(of: Self.activeTitle)
        XCTAssertGreaterThan(title.length, 150, "the focused window's title bar")
        let (x0, y0) = (title.x, title.y)
        let dx = x0 >= W / 2 ? -250 : 250, dy = 30
        let grab = (Int32(x0 + 20), Int32(y0 + 8))
        let events: [Int: [InputEvent]] = [
            2: [.pointer(x: grab.0, y: grab.1)], 3: [.button(.left, down: true)],
            4: [.pointer(x: grab.0 + Int32(dx / 2), y: grab.1 + Int32(dy / 2))],
            5: [.pointer(x: grab.0 + Int32(dx), y: grab.1 + Int32(dy))], 6: [.button(.left, down: false)],
            7: [.pointer(x: 4, y: Int32(H - 4))],  // park the pointer on the taskbar
        ]
        let after = try runGuest("desktop", width: W, height: H, frames: 9, events: events)
        let moved = after.longestRun(of: Self.activeTitle)
        XCTAssertEqual(moved.y, y0 + dy, "the title bar moved down by \(dy)")
        XCTAssertEqual(moved.x, max(x0 + dx, 0), "and across by \(dx)")
        XCTAssertNotEqual(after.at(x0, y0), Self.activeTitle, "nothing focused is left at the old place")
        let same = try runGuest("desktop", width: W, height: H, frames: 9, events: events)
        assertSamePicture(after, same, "the same events give the same picture")
        let two = try runGuest("desktop", width: W, height: H, cpus: 2, frames: 9, events: events)
        assertSamePicture(after, two, "two vCPUs draw the same picture")
    }

    func testDesktopClickRaisesAWindowAndTypingGoesToTheFocusedTerminal() throws {
        let W = 640, H = 480
        let before = try runGuest("desktop", width: W, height: H, frames: 2)
        // A visible pixel of the terminal window's body (window #1, not focused at boot).
        guard let spot = (0..<(W * H)).first(where: { before.pixels[$0] == Self.terminalBody && before.pixels[$0 + 1] == Self.terminalBody }) else {
            return XCTFail("no terminal body visible")
        }
        let px = Int32(spot % W + 1), py = Int32(spot / W)
        let click: [Int: [InputEvent]] = [2: [.pointer(x: px, y: py)], 3: [.button(.left, down: true)], 4: [.button(.left, down: false)],
                                          5: [.pointer(x: 4, y: Int32(H - 4))]]
        let typed = merged(click, typing([Self.keyO, Self.keyK, Self.keyEnter, Self.keyX], from: 6))
        let raised = try runGuest("desktop", width: W, height: H, frames: 12, events: click)
        let r = try runGuest("desktop", width: W, height: H, frames: 12, events: typed)
        // The raised terminal is now the focused window: find its title bar.
        let title = raised.longestRun(of: Self.activeTitle)
        XCTAssertEqual(r.longestRun(of: Self.activeTitle).y, title.y)
        let oldTitle = before.longestRun(of: Self.activeTitle)
        XCTAssertNotEqual(raised.at(oldTitle.x, oldTitle.y), Self.activeTitle, "the window focused before lost the focus")
        let x = title.x, bodyY = title.y + 22
        XCTAssertEqual(raised.at(x + 2, bodyY + 2), Self.terminalBody, "the terminal's body is under the focused title bar")
        // Typed: the body scrolled so the last lines show "...$ ok" and "...$ x" with the cursor.
        let bodyRows = (0...).prefix { bodyY + $0 < H && r.at(x + 2, bodyY + $0) == Self.terminalBody }.count
        let visible = (bodyRows - 6) / 16
        XCTAssertGreaterThanOrEqual(visible, 2)
        let lastY = bodyY + 6 + (visible - 1) * 16
        let promptX = x + 6 + 18 * 8
        XCTAssertTrue(r.cell(promptX, lastY).contains(0x8AE234), "'x' after the new prompt")
        XCTAssertEqual(Set(r.cell(promptX + 8, lastY)), [0xD3D7CF], "the cursor after it")
        XCTAssertTrue(r.cell(promptX, lastY - 16).contains(0x8AE234) && r.cell(promptX + 8, lastY - 16).contains(0x8AE234), "'ok' on the line above")
        XCTAssertNotEqual(r.cell(promptX, lastY - 16), r.cell(promptX + 8, lastY - 16))
        // Outside the terminal's body the typing changed nothing.
        var outside = 0
        for y in 0..<H { for xx in 0..<W where !(xx >= x && xx < x + title.length && y >= bodyY && y < bodyY + bodyRows) {
            if r.at(xx, y) != raised.at(xx, y) { outside += 1 }
        } }
        XCTAssertEqual(outside, 0, "typing redraws only the terminal's body")
    }

    func testDesktopWithoutPointerInputKeepsTheScriptedCursorAndKeysAloneDoNotStopIt() throws {
        let quiet = try runGuest("desktop", frames: 6)
        let keys = try runGuest("desktop", frames: 6, events: typing([Self.keyA, Self.keyEnter], from: 2))
        assertSamePicture(quiet, keys, "keys while the file list has the focus change nothing")
        let pointed = try runGuest("desktop", frames: 6, events: [2: [.pointer(x: 5, y: 5)]])
        let plane = try XCTUnwrap(pointed.machine.cursor.read(), "the pointer's cursor is the cursor plane's (CursorPlaneGuestTests)")
        XCTAssertEqual([plane.x, plane.y], [5, 5], "the cursor's tip follows the pointer")
    }
}

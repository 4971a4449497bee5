import Display
import Foundation
import Input
import Synchronization
@testable import Window
import XCTest

/// Window input without a screen: pointer mapping through the letterbox, the forwarder's
/// bookkeeping of what is held, and SDL's scancodes mapped to evdev codes.
final class InputForwardingTests: XCTestCase {
    final class Recorder: InputSink {
        private let list = Mutex<[InputEvent]>([])
        var events: [InputEvent] { list.withLock { $0 } }
        func push(_ event: InputEvent) { list.withLock { $0.append(event) } }
    }

    func testAWindowPixelMapsToTheGuestPixelShownThereAndTheBarsToNothing() {
        // 320x200 zoomed 3x into 1000x700: placement 960x600 at (20, 50).
        let box = Letterbox(contentWidth: 320, contentHeight: 200, windowWidth: 1000, windowHeight: 700, nearest: true)
        let screen = TileRect(x: 0, y: 0, width: 320, height: 200)
        func map(_ x: Int, _ y: Int, clamp: Bool = false) -> [Int32]? {
            InputForwarder.guestPoint(box, screen: screen, windowX: x, windowY: y, clamp: clamp).map { [$0.x, $0.y] }
        }
        XCTAssertEqual(map(20, 50), [0, 0])
        XCTAssertEqual(map(22, 52), [0, 0], "the whole 3x3 square is guest pixel (0, 0)")
        XCTAssertEqual(map(23, 53), [1, 1])
        XCTAssertEqual(map(979, 649), [319, 199])
        XCTAssertNil(map(19, 100), "left bar")
        XCTAssertNil(map(980, 100), "right bar")
        XCTAssertNil(map(500, 49), "top bar")
        XCTAssertNil(map(-5, -5), "off the window")
        XCTAssertEqual(map(5, 100, clamp: true), [0, 16], "held: pinned to the left edge")
        XCTAssertEqual(map(2000, 2000, clamp: true), [319, 199])

        // Every window pixel of a filtered (non-whole) scale lands on the pixel the blit samples there.
        let smooth = Letterbox(contentWidth: 1280, contentHeight: 800, windowWidth: 1000, windowHeight: 700, nearest: false)
        let big = TileRect(x: 0, y: 0, width: 1280, height: 800)
        let p = smooth.placement
        for wx in p.x..<p.maxX {
            let g = InputForwarder.guestPoint(smooth, screen: big, windowX: wx, windowY: p.y, clamp: false)!
            XCTAssertEqual(Int(g.x), Int((Double(wx - p.x) + 0.5) * 1280 / Double(p.width)))
        }

        // The split view: only its screen part is the guest's.
        let split = TileRect(x: 16, y: 60, width: 320, height: 200)
        let one = Letterbox(contentWidth: 900, contentHeight: 400, windowWidth: 900, windowHeight: 400, nearest: true)
        XCTAssertEqual(InputForwarder.guestPoint(one, screen: split, windowX: 16, windowY: 60, clamp: false).map { [$0.x, $0.y] }, [0, 0])
        XCTAssertNil(InputForwarder.guestPoint(one, screen: split, windowX: 400, windowY: 100, clamp: false), "the migration panel")
    }

    func testEveryKeyAndButtonTheGuestSawGoDownAlsoGoesUpAndNeverAnUpAlone() {
        let r = Recorder()
        var f = InputForwarder(sink: r)
        f.key(evdev: 30, down: false)
        XCTAssertEqual(r.events, [], "an up whose down the guest never saw (a shortcut's key)")
        f.key(evdev: 30, down: true)
        f.key(evdev: 42, down: true)
        f.key(evdev: 0, down: true) // a key with no evdev code
        f.button(.left, down: true, at: nil) // pressed on the bars
        f.button(.left, down: false, at: (5, 5))
        f.button(.right, down: true, at: (7, 8))
        f.motion(to: (7, 8))
        f.motion(to: nil)
        f.wheel(vertical: 0, horizontal: 0)
        f.wheel(vertical: -2, horizontal: 0)
        f.releaseAll() // focus lost
        f.key(evdev: 30, down: false)
        XCTAssertEqual(r.events, [
            .key(code: 30, down: true), .key(code: 42, down: true),
            .pointer(x: 7, y: 8), .button(.right, down: true), .wheel(vertical: -2, horizontal: 0),
            .key(code: 30, down: false), .key(code: 42, down: false), .button(.right, down: false),
        ])
        var none = InputForwarder()
        none.key(evdev: 30, down: true)
        XCTAssertTrue(none.keysDown.isEmpty, "no sink: nothing is held for the guest")
    }

    /// SDL's auto-repeats of a held key reach the guest as evdev value 2 (typed again), at the
    /// desktop's rate; a repeat of a key the guest did not see go down (a shortcut's) or after
    /// its release does not.
    func testAHeldKeysAutoRepeatIsForwardedOnlyWhileTheGuestHoldsIt() {
        let r = Recorder()
        var f = InputForwarder(sink: r)
        f.keyRepeat(evdev: 33) // the F of Ctrl+Alt+F: its down went to the window
        f.key(evdev: 30, down: true)
        f.keyRepeat(evdev: 30)
        f.keyRepeat(evdev: 30)
        f.key(evdev: 30, down: false)
        f.keyRepeat(evdev: 30) // a late repeat after the release
        f.key(evdev: 48, down: true)
        f.releaseAll() // focus lost
        f.keyRepeat(evdev: 48)
        XCTAssertEqual(r.events, [
            .key(code: 30, down: true), .keyRepeat(code: 30), .keyRepeat(code: 30), .key(code: 30, down: false),
            .key(code: 48, down: true), .key(code: 48, down: false),
        ])
    }

    func testSDLScancodesMapToTheEvdevCodesOfTheSameKeys() {
        let pairs: [(String, String)] = [
            ("A", "KEY_A"), ("Z", "KEY_Z"), ("1", "KEY_1"), ("0", "KEY_0"), ("Return", "KEY_ENTER"), ("Escape", "KEY_ESC"),
            ("Backspace", "KEY_BACKSPACE"), ("Tab", "KEY_TAB"), ("Space", "KEY_SPACE"), ("-", "KEY_MINUS"), ("=", "KEY_EQUAL"),
            ("[", "KEY_LEFTBRACE"), ("]", "KEY_RIGHTBRACE"), ("\\", "KEY_BACKSLASH"), (";", "KEY_SEMICOLON"), ("'", "KEY_APOSTROPHE"),
            ("`", "KEY_GRAVE"), (",", "KEY_COMMA"), (".", "KEY_DOT"), ("/", "KEY_SLASH"),
            ("Left Shift", "KEY_LEFTSHIFT"), ("Right Shift", "KEY_RIGHTSHIFT"), ("Left Ctrl", "KEY_LEFTCTRL"), ("Right Ctrl", "KEY_RIGHTCTRL"),
            ("Left Alt", "KEY_LEFTALT"), ("Right Alt", "KEY_RIGHTALT"), ("Left GUI", "KEY_LEFTMETA"), ("CapsLock", "KEY_CAPSLOCK"),
            ("F1", "KEY_F1"), ("F10", "KEY_F10"), ("F11", "KEY_F11"), ("F12", "KEY_F12"),
            ("Up", "KEY_UP"), ("Down", "KEY_DOWN"), ("Left", "KEY_LEFT"), ("Right", "KEY_RIGHT"),
            ("Home", "KEY_HOME"), ("End", "KEY_END"), ("PageUp", "KEY_PAGEUP"), ("PageDown", "KEY_PAGEDOWN"),
            ("Insert", "KEY_INSERT"), ("Delete", "KEY_DELETE"), ("Keypad Enter", "KEY_KPENTER"), ("Keypad 5", "KEY_KP5"),
        ]
        for (sdl, evdev) in pairs {
            XCTAssertEqual(DesktopWindow.evdevCode(sdlKeyName: sdl), EvdevKey.code(named: evdev), "\(sdl) -> \(evdev)")
        }
        XCTAssertEqual(DesktopWindow.evdevCode(sdlKeyName: "no such key"), 0)
        // Every letter and digit, by the table both sides share.
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" {
            XCTAssertEqual(DesktopWindow.evdevCode(sdlKeyName: String(c)), EvdevKey.code(named: "KEY_\(c)"), "\(c)")
        }
    }
}

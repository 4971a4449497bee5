import Foundation
import TestSupport
import XCTest

/// `ringside run` in a real window on a private Xvfb, driven by real X events (xdotool,
/// XTEST): typed keys, a plain Q, the mouse and its buttons reach the guest's input queue
/// (seen through --log-input and the delivered count), and Ctrl+Alt+Q ends the run.
final class WindowInputEndToEndTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    func testRealXEventsReachTheGuestAndCtrlAltQQuits() throws {
        let run = try WindowRun(["--guest", "idle", "--width", "320", "--height", "200", "--log-input"], title: "Ringside: idle")
        // The title says where input goes: idle does not announce that it reads its queue.
        let name = try run.xdo(["getwindowname", run.id])
        XCTAssertTrue(name.contains("input forwarded (the guest does not read it yet), Ctrl+Alt+Q quits"), name)
        try run.xdo(["type", "--delay", "30", "hi"])
        try run.xdo(["key", "q"])
        try run.xdo(["mousemove", "--window", run.id, "100", "50"])
        try run.xdo(["click", "--window", run.id, "1"])
        XCTAssertTrue(run.waitForLog(": button up left"), run.log())
        XCTAssertEqual(try run.quit(), 0, "Ctrl+Alt+Q ended the run: \(run.log())")
        let log = run.log()

        var events = log.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("input: frame "), let colon = line.dropFirst(13).firstIndex(of: ":") else { return nil }
            return String(line[line.index(colon, offsetBy: 2)...])
        }
        // The window may open under the X pointer (Xvfb starts it mid-screen): that first position is real input too.
        let entered = events.first?.hasPrefix("pointer ") == true && events.first != "pointer 100 50" ? 1 : 0
        events.removeFirst(entered)
        // The modifiers' releases reach the guest when they come in before the window closes.
        let released = Array(events.suffix(2)) == ["key up KEY_LEFTCTRL", "key up KEY_LEFTALT"] ? 2 : 0
        events.removeLast(released)
        XCTAssertEqual(events, [
            "key down KEY_H", "key up KEY_H", "key down KEY_I", "key up KEY_I", "key down KEY_Q", "key up KEY_Q",
            "pointer 100 50", "button down left", "button up left",
            "key down KEY_LEFTCTRL", "key down KEY_LEFTALT", // the shortcut's Q itself never reaches the guest
        ], log)
        XCTAssertTrue(log.contains("input: \(11 + entered + released) events delivered to the guest's queue"), log)
        XCTAssertFalse(log.contains("running headless"), log)
    }

    /// A key held in the window auto-repeats as the desktop repeats it (the X server's delay
    /// and rate): the guest gets evdev value 2 events between the key's down and up.
    func testAHeldKeyAutoRepeatsBetweenItsDownAndUp() throws {
        let run = try WindowRun(["--guest", "terminal", "--args", "lines=0", "--width", "320", "--height", "200", "--log-input"],
                                title: "Ringside: terminal")
        try run.xdo(["keydown", "a"])
        // Held past X's repeat delay (660 ms by default) until five repeats reached the guest.
        XCTAssertTrue(poll(timeout: 120, every: 0.02) { run.log().components(separatedBy: ": key repeat KEY_A").count > 5 }, run.log())
        try run.xdo(["keyup", "a"])
        XCTAssertTrue(run.waitForLog(": key up KEY_A"), run.log())
        XCTAssertEqual(try run.quit(), 0, run.log())
        let keys = run.log().split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("input: frame "), line.hasSuffix(" KEY_A"), let colon = line.dropFirst(13).firstIndex(of: ":") else { return nil }
            return String(line[line.index(colon, offsetBy: 2)...])
        }
        XCTAssertEqual(keys.first, "key down KEY_A", run.log())
        XCTAssertEqual(keys.last, "key up KEY_A", run.log())
        XCTAssertEqual(Set(keys.dropFirst().dropLast()), ["key repeat KEY_A"], "only repeats while held: \(run.log())")
        XCTAssertGreaterThanOrEqual(keys.count - 2, 5, "the held key repeated: \(run.log())")
    }
}

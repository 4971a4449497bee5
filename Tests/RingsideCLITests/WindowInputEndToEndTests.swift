import Foundation
import TestSupport
import XCTest

/// `ringside run` in a real window on a private Xvfb, driven by real X events (xdotool,
/// XTEST): typed keys, a plain Q, the mouse and its buttons reach the guest's input queue
/// (seen through --log-input and the delivered count), and Ctrl+Alt+Q ends the run.
final class WindowInputEndToEndTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    func testRealXEventsReachTheGuestAndCtrlAltQQuits() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        guard let xdotool = XvfbScreen.which("xdotool") else { throw XCTSkip("needs xdotool (apt-get install xdotool)") }
        let screen = try XvfbScreen.acquire()
        var env = ProcessInfo.processInfo.environment
        env["DISPLAY"] = screen.display
        let p = Process()
        p.executableURL = ringsideExecutable()
        p.arguments = ["run", "--guest", "idle", "--width", "320", "--height", "200", "--seconds", "60", "--log-input"]
        p.environment = env
        let outFile = NSTemporaryDirectory() + "ringside-window-input-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: outFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outFile) }
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
        p.standardError = p.standardOutput
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        func log() -> String { (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "" }

        @discardableResult
        func xdo(_ args: [String]) throws -> String { try screen.xdotool(xdotool, args) }
        // The window's title starts "Ringside: idle".
        let id = try xdo(["search", "--sync", "--onlyvisible", "--name", "Ringside: idle"]).split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertFalse(id.isEmpty, "the window is on the X server: \(log())")
        try xdo(["windowfocus", "--sync", id])
        // The title says where input goes: idle does not announce that it reads its queue.
        let name = try xdo(["getwindowname", id])
        XCTAssertTrue(name.contains("input forwarded (the guest does not read it yet), Ctrl+Alt+Q quits"), name)
        Thread.sleep(forTimeInterval: 0.5)
        try xdo(["type", "--delay", "30", "hi"])
        try xdo(["key", "q"])
        try xdo(["mousemove", "--window", id, "100", "50"])
        try xdo(["click", "--window", id, "1"])
        func waitFor(_ text: String) -> Bool {
            let end = Date(timeIntervalSinceNow: 10)
            while Date() < end { if log().contains(text) { return true }; Thread.sleep(forTimeInterval: 0.05) }
            return false
        }
        XCTAssertTrue(waitFor(": button up left"), log())
        try xdo(["key", "ctrl+alt+q"])
        let end = Date(timeIntervalSinceNow: 15)
        while p.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertFalse(p.isRunning, "Ctrl+Alt+Q ended the run")
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, log())

        var events = log().split(separator: "\n").compactMap { line -> String? in
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
        ], log())
        XCTAssertTrue(log().contains("input: \(11 + entered + released) events delivered to the guest's queue"), log())
        XCTAssertFalse(log().contains("running headless"), log())
    }
}

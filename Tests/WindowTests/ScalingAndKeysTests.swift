import Display
import Foundation
import Input
import Synchronization
@testable import Window
import TestSupport
import XCTest

/// Letterboxed scaling on a real screen, and keys turned into commands.
final class ScalingAndKeysTests: XCTestCase {
    static let geometry = FramebufferGeometry(width: 320, height: 200)

    override class func tearDown() {
        XvfbScreen.stop()
        super.tearDown()
    }

    static func shadow(_ color: (Int, Int) -> UInt32) -> ShadowFramebuffer {
        let g = geometry
        var p = [UInt32](repeating: 0, count: g.width * g.height)
        for y in 0..<g.height { for x in 0..<g.width { p[y * g.width + x] = color(x, y) } }
        let s = ShadowFramebuffer(geometry: g)
        p.withUnsafeBytes { s.copyAll(from: $0.baseAddress!) }
        return s
    }

    func open(_ screen: XvfbScreen, nearest: Bool, shadow: ShadowFramebuffer, width: Int, height: Int) throws -> DesktopWindow {
        let grid = TileGrid(geometry: Self.geometry, tile: TileSize(width: 64, height: 16))
        let window = try DesktopWindow(grid: grid, options: .init(title: "scaled", nearest: nearest))
        var all = DirtyTileBitmap(count: grid.count)
        all.setAll()
        window.upload(from: shadow, dirty: all)
        window.setSize(width: width, height: height)
        for _ in 0..<10 {
            _ = window.pollCommands(waitingUpTo: 0.03)
            try window.present()
        }
        return window
    }

    /// Nearest: each guest pixel becomes an exact 3x3 square, centred, with black bars.
    func testNearestZoomRepeatsEachPixelInAWholeSquare() throws {
        let screen = try XvfbScreen.acquire()
        try screen.withDisplay {
            let shadow = Self.shadow { x, y in UInt32(x & 0xFF) << 16 | UInt32(y & 0xFF) << 8 | UInt32((x * y) & 0xFF) }
            let window = try open(screen, nearest: true, shadow: shadow, width: 1000, height: 700)
            XCTAssertTrue(window.size == (1000, 700), "window is \(window.size)")
            XCTAssertEqual(window.letterbox.placement, TileRect(x: 20, y: 50, width: 960, height: 600))
            func wrong(_ shot: Screenshot) -> Int {
                let o = window.screenPosition
                var bad = 0
                for y in 0..<700 {
                    for x in 0..<1000 {
                        let inside = window.letterbox.placement.contains(x: x, y: y)
                        let expected = inside ? shadow.pixel(x: (x - 20) / 3, y: (y - 50) / 3) & 0xFF_FFFF : 0
                        if shot.pixel(x: o.x + x, y: o.y + y) != expected { bad += 1 }
                    }
                }
                return bad
            }
            let shot = try window.screenshot(on: screen, savingTo: "/tmp/ringside-window-nearest-test.png") { wrong($0) == 0 }
            XCTAssertEqual(wrong(shot), 0)
        }
    }

    /// Filtered scaling keeps flat areas flat and the aspect: four solid quadrants shown in
    /// a window twice as wide as needed.
    func testSmoothScalingFitsTheHeightAndKeepsFlatColours() throws {
        let screen = try XvfbScreen.acquire()
        try screen.withDisplay {
            let colors: [UInt32] = [0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF]
            let shadow = Self.shadow { x, y in colors[(y < 100 ? 0 : 2) + (x < 160 ? 0 : 1)] }
            let window = try open(screen, nearest: false, shadow: shadow, width: 1200, height: 500)
            let p = window.letterbox.placement
            XCTAssertEqual(p, TileRect(x: 200, y: 0, width: 800, height: 500))
            let o = window.screenPosition
            let shot = try window.screenshot(on: screen) { shot in
                [(100, 250, 0), (1100, 250, 0), (p.x + 200, 125, 0xFF0000), (p.x + 600, 125, 0x00FF00), (p.x + 200, 375, 0x0000FF),
                 (p.x + 600, 375, 0xFFFFFF)].allSatisfy { shot.pixel(x: o.x + $0.0, y: o.y + $0.1) == UInt32($0.2) }
            }
            XCTAssertEqual(shot.pixel(x: o.x + 100, y: o.y + 250), 0, "left bar")
            XCTAssertEqual(shot.pixel(x: o.x + 1100, y: o.y + 250), 0, "right bar")
            XCTAssertEqual(shot.pixel(x: o.x + p.x + 200, y: o.y + 125), 0xFF0000)
            XCTAssertEqual(shot.pixel(x: o.x + p.x + 600, y: o.y + 125), 0x00FF00)
            XCTAssertEqual(shot.pixel(x: o.x + p.x + 200, y: o.y + 375), 0x0000FF)
            XCTAssertEqual(shot.pixel(x: o.x + p.x + 600, y: o.y + 375), 0xFFFFFF)
        }
    }

    final class Recorder: InputSink {
        private let list = Mutex<[InputEvent]>([])
        func push(_ event: InputEvent) { list.withLock { $0.append(event) } }
        func take() -> [InputEvent] { list.withLock { l in defer { l = [] }; return l } }
        var count: Int { list.withLock { $0.count } }
    }

    /// Drives a window through the X server with xdotool (XTEST, as a keyboard and a mouse
    /// would), keeping SDL's event queue moving meanwhile and collecting the window's commands.
    final class XdoDriver {
        let window: DesktopWindow
        let guest: Recorder
        private let xdotool: String
        private let display: String
        private var pending: [WindowCommand] = []

        init(window: DesktopWindow, guest: Recorder, xdotool: String, display: String) {
            (self.window, self.guest, self.xdotool, self.display) = (window, guest, xdotool, display)
        }

        @discardableResult
        func xdo(_ args: [String]) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: xdotool)
            p.arguments = args
            p.environment = ["DISPLAY": display]
            // A file, not a pipe: a pipe read after exit could block on a grandchild holding it.
            let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("xdotool-\(UUID().uuidString)")
            _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: outFile) }
            p.standardOutput = try FileHandle(forWritingTo: outFile)
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Keep SDL's event queue moving while xdotool waits for the window.
            let deadline = Date(timeIntervalSinceNow: 120)
            while p.isRunning && Date() < deadline { pending += window.pollCommands(waitingUpTo: 0.01) }
            XCTAssertNotNil(waitForExit(p, timeout: 1, "xdotool \(args.joined(separator: " "))"))
            return (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
        }

        /// Moves SDL's events along until the guest has seen `events` input events (what the X
        /// action makes: the window's commands come from the same X events, before them).
        func settle(until events: Int, _ what: String) {
            waitFor("\(events) input events from \(what)") {
                pending += window.pollCommands(waitingUpTo: 0.01)
                return guest.count >= events
            }
        }

        /// Drains what is pending, presses `key` (xdotool's name) in the focused window, and
        /// returns the window commands it made once the guest has seen its `events` input events.
        func press(_ key: String, events: Int) throws -> [WindowCommand] {
            pending += window.pollCommands()
            pending = []
            _ = guest.take()
            try xdo(["key", "--clearmodifiers", key])
            settle(until: events, key)
            return pending
        }

        /// Drains what is pending and forgets what the guest has seen.
        func drain() { pending += window.pollCommands(); _ = guest.take() }
    }

    /// Opens a window titled `title` at 2x (window pixel (2x, 2y) shows guest pixel (x, y)),
    /// forwarding to a recorder, and focuses it through xdotool.
    func focusedWindow(_ title: String, xdotool: String, screen: XvfbScreen) throws -> XdoDriver {
        let grid = TileGrid(geometry: Self.geometry, tile: TileSize(width: 64, height: 16))
        let window = try DesktopWindow(grid: grid, options: .init(title: title))
        let guest = Recorder()
        window.input = guest
        var all = DirtyTileBitmap(count: grid.count)
        all.setAll()
        window.upload(from: Self.shadow { _, _ in 0x404040 }, dirty: all)
        window.setSize(width: 640, height: 400)
        for _ in 0..<10 { _ = window.pollCommands(waitingUpTo: 0.03); try window.present() }
        let driver = XdoDriver(window: window, guest: guest, xdotool: xdotool, display: screen.display)
        let id = try driver.xdo(["search", "--sync", "--name", title]).split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertFalse(id.isEmpty, "the window is on the X server")
        try driver.xdo(["windowfocus", "--sync", id])
        return driver
    }

    /// Keys and the mouse driven through the X server (xdotool: XTEST, as a keyboard and a
    /// mouse would), into the focused window: Ctrl+Alt shortcuts become commands or toggles,
    /// every plain key and the pointer go to the input sink.
    func testCtrlAltShortcutsStayInTheWindowAndEverythingElseGoesToTheGuest() throws {
        let xdotool = try requireTool("xdotool", install: "apt-get install xdotool")
        let screen = try XvfbScreen.acquire()
        try screen.withDisplay {
            let x = try focusedWindow("keys-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", xdotool: xdotool, screen: screen)
            let (window, guest) = (x.window, x.guest)
            let (ctrl, alt) = (EvdevKey.leftCtrl, EvdevKey.leftAlt)
            func keys(_ codes: [(UInt16, Bool)]) -> [InputEvent] { codes.map { .key(code: $0.0, down: $0.1) } }

            XCTAssertEqual(try x.press("q", events: 2), [], "a plain q is the guest's")
            XCTAssertEqual(guest.take(), keys([(16, true), (16, false)]))
            XCTAssertEqual(try x.press("Escape", events: 2), [])
            XCTAssertEqual(guest.take(), keys([(1, true), (1, false)]))
            XCTAssertEqual(try x.press("shift+a", events: 4), [])
            // xdotool presses the modifiers first and lets go of them in the same order, before the key.
            XCTAssertEqual(guest.take(), keys([(42, true), (30, true), (42, false), (30, false)]))
            XCTAssertEqual(try x.press("F12", events: 2), [])
            XCTAssertEqual(guest.take(), keys([(88, true), (88, false)]))

            XCTAssertEqual(try x.press("ctrl+alt+s", events: 4), [.screenshot])
            XCTAssertEqual(guest.take(), keys([(ctrl, true), (alt, true), (ctrl, false), (alt, false)]), "the guest sees the modifiers, never the S")
            XCTAssertEqual(try x.press("ctrl+alt+q", events: 4), [.quit])
            XCTAssertFalse(window.showDirty)
            _ = try x.press("ctrl+alt+d", events: 4)
            XCTAssertTrue(window.showDirty, "Ctrl+Alt+D toggles show-dirty")
            _ = try x.press("d", events: 2)
            XCTAssertTrue(window.showDirty, "a plain d does not")

            // The pointer: window pixels through the 2x letterbox to guest pixels.
            let o = window.screenPosition
            XCTAssertEqual(window.letterbox.placement, TileRect(x: 0, y: 0, width: 640, height: 400))
            x.drain()
            try x.xdo(["mousemove", "--sync", String(o.x + 201), String(o.y + 101)])
            x.settle(until: 1, "the pointer's move")
            XCTAssertEqual(guest.take(), [.pointer(x: 100, y: 50)])
            try x.xdo(["click", "1"])
            try x.xdo(["click", "3"])
            try x.xdo(["click", "4"]) // wheel up: one click away from the user
            x.settle(until: 5, "three clicks")
            XCTAssertEqual(guest.take(), [.button(.left, down: true), .button(.left, down: false), .button(.right, down: true),
                                          .button(.right, down: false), .wheel(vertical: 1, horizontal: 0)])
            _ = try x.press("ctrl+alt+f", events: 4)
            XCTAssertTrue(window.isFullScreen, "Ctrl+Alt+F toggles full screen")
            _ = try x.press("ctrl+alt+f", events: 4)
            XCTAssertFalse(window.isFullScreen)
        }
    }
}

import Foundation
import Input
import KVM
import Machine
import TestSupport
import XCTest

/// `desktop` and `paint` follow the host's window (assets/guests/README.md, "Mode setting"):
/// a display-size event delivered at frame f makes vCPU 0 set that mode before frame f is
/// drawn, and every vCPU draws frame f whole in the new geometry. Events are pushed at vCPU
/// 0's doorbell of frame f - 1, as a resized window's are.
final class GuestFollowTests: XCTestCase {
    /// `runGuest` with room for modes up to 1024x768.
    func run(_ guest: String, args: String = "", width: Int, height: Int, cpus: Int = 1, lockstep: Bool = true, frames: Int,
             events: [Int: [InputEvent]] = [:]) throws -> GuestRun {
        try runGuest(guest, args: args, width: width, height: height, cpus: cpus, lockstep: lockstep, maxMode: (1024, 768),
                     frames: frames, events: events)
    }

    // MARK: - paint

    static let white: UInt32 = 0xFFFFFF, black: UInt32 = 0x000000, stripGrey: UInt32 = 0x2E3436

    func testPaintFollowsADisplaySizeEventWithAClearedCanvasAndTheStripAtTheNewWidth() throws {
        let stroke: [InputEvent] = [.pointer(x: 40, y: 100), .button(.left, down: true), .pointer(x: 300, y: 100), .button(.left, down: false)]
        let events: [Int: [InputEvent]] = [
            2: stroke,
            4: [.displaySize(width: 480, height: 300)],
            // After the mode set: a stroke where the old screen had no pixels.
            6: [.pointer(x: 400, y: 260), .button(.left, down: true), .pointer(x: 470, y: 260), .button(.left, down: false)],
        ]
        let r = try run("paint", width: 320, height: 200, frames: 8, events: events)
        XCTAssertEqual(r.mode, DisplayMode(width: 480, height: 300), "paint set the mode it was asked for")
        XCTAssertEqual(r.serial, 1, "one mode set")
        XCTAssertTrue(r.machine.input.guestFollowsDisplaySize, "paint announces RS_GUEST_FOLLOWS_DISPLAY_SIZE")
        // A run started at 480x300 with no input: the strip is the same, the canvas white.
        let fresh = try run("paint", width: 480, height: 300, frames: 8)
        for y in 0..<24 { for x in 0..<480 where r.at(x, y) != fresh.at(x, y) { return XCTFail("the strip differs at (\(x), \(y)) from a run started at 480x300") } }
        XCTAssertEqual(r.at(470, 12), Self.stripGrey, "the strip reaches the new right edge")
        XCTAssertEqual(r.at(40, 100), Self.white, "the stroke from before the mode set was cleared with the canvas")
        XCTAssertEqual(r.at(200, 100), Self.white)
        for x in stride(from: 400, through: 470, by: 10) { XCTAssertEqual(r.at(x, 260), Self.black, "the new stroke at (\(x), 260)") }
        var inked = 0
        for y in 24..<300 { for x in 0..<480 where r.at(x, y) != Self.white { inked += 1 } }
        XCTAssertEqual(inked, 71 * 3 + 2 * 3, "only the new stroke's pixels (a 3 px brush from x 400 to 470)")

        let two = try run("paint", width: 320, height: 200, cpus: 2, frames: 8, events: events)
        assertSamePicture(r, two, "two vCPUs switch at the same frame and draw the same picture")
        for _ in 0..<4 {
            let apart = try run("paint", width: 320, height: 200, cpus: 2, lockstep: false, frames: 8, events: events)
            assertSamePicture(r, apart, "two vCPUs running apart (no lockstep) still switch between the same two frames")
        }
    }

    /// vCPU 1 spends frame 3 stamping a 64 px brush along a long zigzag in its band (the lower
    /// half) while vCPU 0 has nothing to draw: vCPU 0 reaches frame 4 first, and must not set
    /// the mode before vCPU 1 is done, or vCPU 1's last stamps, at the old pitch, would land in
    /// rows of vCPU 0's new band after vCPU 0 cleared them.
    func testAVCPUStillDrawingInTheOldModeIsWaitedFor() throws {
        var zigzag: [InputEvent] = []
        for k in 0..<60 { zigzag.append(.pointer(x: k % 2 == 0 ? 300 : 20, y: Int32(140 + k % 3 * 20))) }
        let events: [Int: [InputEvent]] = [
            2: [.pointer(x: 20, y: 150), .button(.left, down: true)],
            3: zigzag,
            4: [.button(.left, down: false), .displaySize(width: 480, height: 300)],
        ]
        let one = try run("paint", args: "brush=64", width: 320, height: 200, frames: 6, events: events)
        XCTAssertEqual(one.mode, DisplayMode(width: 480, height: 300))
        XCTAssertEqual(Set(one.pixels[(24 * 480)...]), [Self.white], "the canvas is cleared")
        for _ in 0..<3 {
            let two = try run("paint", args: "brush=64", width: 320, height: 200, cpus: 2, lockstep: false, frames: 6, events: events)
            assertSamePicture(one, two, "2 vCPUs running apart")
        }
    }

    func testPaintAfterGrowingAndShrinkingEqualsARunStartedInThatMode() throws {
        // Strokes in the same frame as the resize are drawn after it (the mode changes first).
        let events: [Int: [InputEvent]] = [
            3: [.displaySize(width: 640, height: 400)],
            5: [.pointer(x: 600, y: 50), .displaySize(width: 256, height: 160), .button(.left, down: true), .pointer(x: 20, y: 150)],
            6: [.button(.left, down: false)],
        ]
        let r = try run("paint", width: 320, height: 200, frames: 8, events: events)
        XCTAssertEqual(r.mode, DisplayMode(width: 256, height: 160))
        XCTAssertEqual(r.serial, 2)
        // Frame 5 in a run started at 256x160 with the pointer clamped to (255, 50): the same.
        let direct = try run("paint", width: 256, height: 160, frames: 8, events: [
            5: [.pointer(x: 255, y: 50), .button(.left, down: true), .pointer(x: 20, y: 150)],
            6: [.button(.left, down: false)],
        ])
        assertSamePicture(r, direct, "a grown then shrunk paint draws what a run started at 256x160 draws")
        for lockstep in [true, false] {
            let two = try run("paint", width: 320, height: 200, cpus: 2, lockstep: lockstep, frames: 8, events: events)
            assertSamePicture(r, two, "2 vCPUs, lockstep \(lockstep)")
        }
    }

    func testARefusedSizeChangesNothing() throws {
        let plain = try run("paint", width: 320, height: 200, frames: 6)
        // Pushed directly (the window clamps what it asks for): the VMM refuses both.
        let refused = try run("paint", width: 320, height: 200, frames: 6, events: [3: [.displaySize(width: 8000, height: 200)], 4: [.displaySize(width: 0, height: 0)]])
        assertSamePicture(plain, refused, "a refused mode leaves the picture as it was")
        XCTAssertEqual(refused.serial, 0)
        XCTAssertTrue(refused.console.contains { $0.contains("paint: 320x200") }, "\(refused.console)")
    }

    // MARK: - desktop

    static let taskbarLine: UInt32 = 0x555753, taskbar: UInt32 = 0x2E3436, activeTitle: UInt32 = 0x4A86C8

    func testDesktopFollowsWithTheTaskbarAtTheNewBottomEdgeAndWindowsOnScreen() throws {
        let before = try run("desktop", width: 640, height: 480, frames: 3)
        let title = before.longestRun(of: Self.activeTitle)
        // Grow: the windows stay where they were, the taskbar moves to the new bottom.
        let grown = try run("desktop", width: 640, height: 480, frames: 6, events: [3: [.displaySize(width: 800, height: 600)], 4: [.pointer(x: 790, y: 20)]])
        XCTAssertEqual(grown.mode, DisplayMode(width: 800, height: 600))
        XCTAssertTrue(grown.machine.input.guestFollowsDisplaySize)
        XCTAssertEqual((0..<700).filter { grown.at($0, 600 - 28) != Self.taskbarLine }, [], "the taskbar's top line spans the new width at y = 572")
        XCTAssertEqual(grown.at(700, 590), Self.taskbar, "the taskbar at the new bottom edge")
        XCTAssertNotEqual(grown.at(300, 480 - 28), Self.taskbarLine, "no taskbar left at the old place")
        XCTAssertEqual(grown.longestRun(of: Self.activeTitle).x, title.x, "the focused window did not move")
        XCTAssertEqual(grown.longestRun(of: Self.activeTitle).y, title.y)
        let cursor = grown.machine.cursor.read()
        XCTAssertEqual(cursor.map { [$0.x, $0.y] }, [790, 20], "the cursor plane's hot spot at the pointer, beyond the old width")

        // Shrink: every window is moved onto the smaller screen.
        let shrunk = try run("desktop", width: 640, height: 480, frames: 6, events: [3: [.displaySize(width: 320, height: 240)], 4: [.pointer(x: 2, y: 2)]])
        XCTAssertEqual(shrunk.mode, DisplayMode(width: 320, height: 240))
        XCTAssertEqual((30..<250).filter { shrunk.at($0, 240 - 28) != Self.taskbarLine }, [], "the taskbar's top line at y = 212")
        let t = shrunk.longestRun(of: Self.activeTitle)
        XCTAssertGreaterThan(t.length, 100, "the focused window's title bar is on screen")
        XCTAssertEqual(t.length, title.length, "all of it")
        XCTAssertLessThanOrEqual(t.x + t.length, 320, "within the width: x in [0, W - w]")
        XCTAssertLessThan(t.y, 240 - 28, "above the taskbar")

        for lockstep in [true, false] {
            let two = try run("desktop", width: 640, height: 480, cpus: 2, lockstep: lockstep, frames: 6, events: [3: [.displaySize(width: 320, height: 240)], 4: [.pointer(x: 2, y: 2)]])
            assertSamePicture(shrunk, two, "two vCPUs (lockstep \(lockstep)) switch at the same frame and draw the same picture")
        }
    }

    func testWithoutDisplaySizeEventsNothingChangesAndInputOffDoesNotFollow() throws {
        // --fixed-mode: the VMM sends no display-size event; the guest keeps its mode.
        let r = try run("desktop", width: 640, height: 480, frames: 4)
        XCTAssertEqual(r.serial, 0)
        XCTAssertTrue(r.machine.input.guestFollowsDisplaySize)
        let off = try run("desktop", args: "input=0", width: 640, height: 480, frames: 4)
        XCTAssertFalse(off.machine.input.guestFollowsDisplaySize, "input=0: desktop reads nothing, so it does not follow")
        XCTAssertNil(off.machine.askForDisplaySize(width: 800, height: 600), "the VMM does not ask a guest that does not follow")
        assertSamePicture(r, off, "the same picture either way")
    }
}

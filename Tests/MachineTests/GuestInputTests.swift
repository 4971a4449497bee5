import Foundation
import Input
import KVM
import Machine
import TestSupport
import XCTest

/// The guests' side of the input queue on real KVM (assets/guests/README.md, "Input"): events
/// pushed at vCPU 0's doorbell of frame f - 1 are applied by every vCPU at the start of frame
/// f, so each picture below is a function of the events and the frame number.
final class GuestInputTests: XCTestCase {
    // Evdev key codes used below.
    static let keyA: UInt16 = 30, keyC: UInt16 = 46, keyH: UInt16 = 35, keyI: UInt16 = 23, keyK: UInt16 = 37
    static let keyO: UInt16 = 24, keyX: UInt16 = 45, keyEnter: UInt16 = 28, keyBackspace: UInt16 = 14
    static let keyLeftShift: UInt16 = 42, keyCapsLock: UInt16 = 58, key3: UInt16 = 4

    /// Key presses (down, up) for `codes`, one key per frame from `frame` on.
    func typing(_ codes: [UInt16], from frame: Int) -> [Int: [InputEvent]] {
        var out: [Int: [InputEvent]] = [:]
        for (i, c) in codes.enumerated() { out[frame + i] = [.key(code: c, down: true), .key(code: c, down: false)] }
        return out
    }

    func merged(_ parts: [Int: [InputEvent]]...) -> [Int: [InputEvent]] {
        var out: [Int: [InputEvent]] = [:]
        for p in parts { for (f, list) in p { out[f, default: []] += list } }
        return out
    }

    // MARK: - terminal

    // terminal at 320x200: 12 text rows; the prompt takes the last (y = 176), the typed
    // text starts at column 18 (x = 144) after "guest@ringside:~$ ".
    static let termPromptY = 176, termTypedX = 144
    static let termText: UInt32 = 0xD3D7CF, termPrompt: UInt32 = 0x8AE234, termBackground: UInt32 = 0x101214

    func testTerminalEchoesTypedCharactersAtThePrompt() throws {
        let hi = try runGuest("terminal", args: "lines=0", frames: 8, events: typing([Self.keyH, Self.keyI], from: 3))
        let ih = try runGuest("terminal", args: "lines=0", frames: 8, events: typing([Self.keyI, Self.keyH], from: 3))
        let y = Self.termPromptY, x = Self.termTypedX
        XCTAssertTrue(hi.cell(0, y).contains(Self.termPrompt), "the prompt is drawn in the prompt colour")
        let h = hi.cell(x, y), i = hi.cell(x + 8, y)
        XCTAssertTrue(h.contains(Self.termText) && h.contains(Self.termBackground), "a glyph in column 18")
        XCTAssertNotEqual(h, i, "two different letters")
        XCTAssertEqual(h, ih.cell(x + 8, y), "'h' typed second lands one column further")
        XCTAssertEqual(i, ih.cell(x, y))
        XCTAssertEqual(Set(hi.cell(x + 16, y)), [Self.termText], "the block cursor follows the text")
        // Nothing above the prompt row changed: the log is empty with lines=0.
        XCTAssertEqual(Set(hi.pixels[0..<(y * 320)]), [Self.termBackground])
    }

    func testTerminalShiftAndCapsLockAndBackspaceAndEnter() throws {
        let shiftA: [InputEvent] = [.key(code: Self.keyLeftShift, down: true), .key(code: Self.keyA, down: true),
                                    .key(code: Self.keyA, down: false), .key(code: Self.keyLeftShift, down: false)]
        let capsA: [InputEvent] = [.key(code: Self.keyCapsLock, down: true), .key(code: Self.keyCapsLock, down: false),
                                   .key(code: Self.keyA, down: true), .key(code: Self.keyA, down: false),
                                   .key(code: Self.keyCapsLock, down: true), .key(code: Self.keyCapsLock, down: false)]
        let events = merged(typing([Self.keyA], from: 3), [4: shiftA, 5: capsA], typing([Self.keyA, Self.keyBackspace], from: 6))
        let r = try runGuest("terminal", args: "lines=0", frames: 10, events: events)
        let y = Self.termPromptY, x = Self.termTypedX
        XCTAssertEqual(r.cell(x + 8, y), r.cell(x + 16, y), "Shift+A and Caps Lock+A type the same letter")
        XCTAssertNotEqual(r.cell(x, y), r.cell(x + 8, y), "... which is not a lower-case a")
        XCTAssertEqual(Set(r.cell(x + 24, y)), [Self.termText], "Backspace removed the fourth letter: the cursor is back in column 21")
        XCTAssertEqual(Set(r.cell(x + 32, y)), [Self.termBackground])

        // Enter moves the line into the log (row 0 with lines=0) and empties the prompt.
        let entered = try runGuest("terminal", args: "lines=0", frames: 10, events: merged(typing([Self.keyH, Self.keyI, Self.keyEnter], from: 3)))
        let before = try runGuest("terminal", args: "lines=0", frames: 10, events: typing([Self.keyH, Self.keyI], from: 3))
        XCTAssertEqual(entered.cell(0, 0, 160, 16), before.cell(0, y, 160, 16), "the typed line, prompt and text, moved to the log")
        XCTAssertEqual(Set(entered.cell(x, y)), [Self.termText], "the empty prompt's cursor in column 18")
        XCTAssertEqual(Set(entered.cell(x + 8, y, 32, 16)), [Self.termBackground])
    }

    func testTerminalWithoutInputIsUnchangedAndLogLinesKeepScrollingAboveThePrompt() throws {
        let typed = try runGuest("terminal", args: "lines=3", frames: 6, events: typing([Self.keyO], from: 2))
        let alone = try runGuest("terminal", args: "lines=0", frames: 6, events: typing([Self.keyO], from: 2))
        XCTAssertEqual(typed.cell(0, Self.termPromptY, 320, 16), alone.cell(0, Self.termPromptY, 320, 16), "the prompt row holds the prompt and the typed 'o'")
        // 3 lines a frame fill 11 log rows by frame 4: the last log row is just above the prompt.
        XCTAssertTrue(typed.cell(0, Self.termPromptY - 16, 64, 16).contains(Self.termPrompt), "a log line's green timestamp above the prompt")
    }

    /// The 8x16 glyphs of ' '...'~' from the guests' font source (runtime/Font.swift).
    func fontGlyphs() throws -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("assets/guests/runtime/Font.swift"), encoding: .utf8)
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("    0x") }
        return rows.map { row in row.split(separator: "//")[0].split(separator: ",").compactMap { UInt8($0.trimmingCharacters(in: .whitespaces).dropFirst(2), radix: 16) } }
    }

    /// Every printable key of a US keyboard, plain and with Shift, echoes exactly the
    /// character Linux's US map gives it: the prompt row is rendered here from the font
    /// source and compared pixel for pixel.
    func testTerminalTypesTheUSLayoutPixelForPixel() throws {
        // (evdev code, plain, shifted), as in Linux's input-event-codes.h and the US keymap.
        let keys: [(UInt16, Character, Character)] = [
            (2, "1", "!"), (3, "2", "@"), (4, "3", "#"), (5, "4", "$"), (6, "5", "%"), (7, "6", "^"), (8, "7", "&"),
            (9, "8", "*"), (10, "9", "("), (11, "0", ")"), (12, "-", "_"), (13, "=", "+"),
            (16, "q", "Q"), (17, "w", "W"), (18, "e", "E"), (19, "r", "R"), (20, "t", "T"), (21, "y", "Y"), (22, "u", "U"),
            (23, "i", "I"), (24, "o", "O"), (25, "p", "P"), (26, "[", "{"), (27, "]", "}"),
            (30, "a", "A"), (31, "s", "S"), (32, "d", "D"), (33, "f", "F"), (34, "g", "G"), (35, "h", "H"), (36, "j", "J"),
            (37, "k", "K"), (38, "l", "L"), (39, ";", ":"), (40, "'", "\""), (41, "`", "~"), (43, "\\", "|"),
            (44, "z", "Z"), (45, "x", "X"), (46, "c", "C"), (47, "v", "V"), (48, "b", "B"), (49, "n", "N"), (50, "m", "M"),
            (51, ",", "<"), (52, ".", ">"), (53, "/", "?"), (57, " ", " "),
        ]
        var events: [InputEvent] = []
        for (code, _, _) in keys { events += [.key(code: code, down: true), .key(code: code, down: false)] }
        events.append(.key(code: Self.keyLeftShift, down: true))
        for (code, _, _) in keys { events += [.key(code: code, down: true), .key(code: code, down: false)] }
        events.append(.key(code: Self.keyLeftShift, down: false))
        let typed = String(keys.map(\.1)) + String(keys.map(\.2))
        // 1280x64: 4 text rows, the prompt in the last (y = 48); 141 characters fit after it.
        let r = try runGuest("terminal", args: "lines=0", width: 1280, height: 64, frames: 8, events: [2: events])
        let glyphs = try fontGlyphs()
        XCTAssertEqual(glyphs.count, 96, "95 printable glyphs and the fallback")
        var want = [UInt32](repeating: Self.termBackground, count: 1280 * 16)
        func put(_ ch: Character, column: Int, _ colour: UInt32) {
            let g = glyphs[Int(ch.asciiValue!) - 32]
            for y in 0..<16 { for x in 0..<8 where g[y] & (0x80 >> x) != 0 { want[y * 1280 + column * 8 + x] = colour } }
        }
        for (i, ch) in "guest@ringside:~$ ".enumerated() { put(ch, column: i, Self.termPrompt) }
        for (i, ch) in typed.enumerated() { put(ch, column: 18 + i, Self.termText) }
        for y in 0..<16 { for x in 0..<8 { want[y * 1280 + (18 + typed.count) * 8 + x] = Self.termText } }
        let got = r.cell(0, 48, 1280, 16)
        let wrong = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }.map { $0.offset % 1280 / 8 - 18 }
        XCTAssertEqual(wrong.count, 0, "typed characters that differ from \(typed): indices \(Set(wrong).sorted())")
    }

    // MARK: - paint

    // paint at 320x200: the canvas is y >= 24, white; brush 3 covers (x - 1 ... x + 1, y - 1 ... y + 1).
    static let white: UInt32 = 0xFFFFFF, black: UInt32 = 0x000000, orange: UInt32 = 0xFB8C00

    /// Pixels a brush of `size` covers along axis-parallel segments through `points` (as paint
    /// stamps its square at every Bresenham step), clipped to the canvas.
    func strokeMask(_ points: [(Int, Int)], size: Int = 3, width: Int = 320, height: Int = 200) -> Set<Int> {
        var mask = Set<Int>()
        func stamp(_ x: Int, _ y: Int) {
            for yy in (y - size / 2)..<(y - size / 2 + size) where yy >= 24 && yy < height {
                for xx in (x - size / 2)..<(x - size / 2 + size) where xx >= 0 && xx < width { mask.insert(yy * width + xx) }
            }
        }
        stamp(points[0].0, points[0].1)
        for (a, b) in zip(points, points.dropFirst()) {
            precondition(a.0 == b.0 || a.1 == b.1, "axis-parallel segments only")
            var p = a
            while p != b {
                p.0 += (b.0 > p.0 ? 1 : b.0 < p.0 ? -1 : 0)
                p.1 += (b.1 > p.1 ? 1 : b.1 < p.1 ? -1 : 0)
                stamp(p.0, p.1)
            }
        }
        return mask
    }

    func canvasMismatches(_ r: GuestRun, mask: Set<Int>, ink: UInt32) -> Int {
        var bad = 0
        for y in 24..<r.height { for x in 0..<r.width {
            let want = mask.contains(y * r.width + x) ? ink : Self.white
            if r.at(x, y) != want { bad += 1 }
        } }
        return bad
    }

    func testPaintDrawsExactlyWhereThePointerWentWithTheButtonHeld() throws {
        let events: [Int: [InputEvent]] = [
            2: [.pointer(x: 50, y: 100)],
            3: [.button(.left, down: true)],
            4: [.pointer(x: 250, y: 100)],   // one jump of 200 px: the line fills it
            5: [.pointer(x: 250, y: 180)],
            6: [.button(.left, down: false)],
            7: [.pointer(x: 10, y: 150), .pointer(x: 100, y: 60)],  // moving without the button draws nothing
        ]
        let r = try runGuest("paint", frames: 9, events: events)
        let mask = strokeMask([(50, 100), (250, 100), (250, 180)])
        XCTAssertEqual(canvasMismatches(r, mask: mask, ink: Self.black), 0, "black exactly along the stroke, white elsewhere")
        XCTAssertEqual(r.cell(0, 0, 320, 24), try runGuest("paint", frames: 9).cell(0, 0, 320, 24), "the status strip is untouched")
        XCTAssertTrue(r.console.contains { $0.hasPrefix("paint: 320x200 cpu 0/1 brush=3") }, "\(r.console)")
    }

    func testPaintFastDiagonalMotionLeavesNoGaps() throws {
        let events: [Int: [InputEvent]] = [2: [.pointer(x: 20, y: 40), .button(.left, down: true)], 3: [.pointer(x: 300, y: 190)]]
        let r = try runGuest("paint", args: "brush=1", frames: 5, events: events)
        var inked = 0, gaps: [Int] = []
        for x in 20...300 {
            let column = (40...190).filter { r.at(x, $0) == Self.black }
            if column.isEmpty { gaps.append(x) }
            inked += column.count
        }
        XCTAssertEqual(gaps, [], "every column between the two positions has a pixel of the line")
        XCTAssertEqual(inked, 281, "a one-pixel Bresenham line: one pixel per column when |dx| > |dy|")
    }

    func testPaintKeysPickColoursAndClearAndRightButtonErases() throws {
        let stroke: [Int: [InputEvent]] = [
            2: [.key(code: Self.key3, down: true), .key(code: Self.key3, down: false), .pointer(x: 40, y: 60)],
            3: [.button(.left, down: true), .pointer(x: 200, y: 60), .button(.left, down: false)],
        ]
        let orange = try runGuest("paint", frames: 5, events: stroke)
        XCTAssertEqual(canvasMismatches(orange, mask: strokeMask([(40, 60), (200, 60)]), ink: Self.orange), 0, "key 3 picks orange")
        XCTAssertEqual(orange.at(4 + 2 * 28 - 2, 1), 0xFCE94F, "swatch 3 is highlighted")
        XCTAssertNotEqual(orange.at(4 - 2, 1), 0xFCE94F, "swatch 1 is not")

        let erase: [Int: [InputEvent]] = [4: [.pointer(x: 120, y: 60), .button(.right, down: true)], 5: [.pointer(x: 200, y: 60), .button(.right, down: false)]]
        let erased = try runGuest("paint", frames: 7, events: merged(stroke, erase))
        XCTAssertEqual(canvasMismatches(erased, mask: strokeMask([(40, 60), (200, 60)]).subtracting(strokeMask([(120, 60), (200, 60)])), ink: Self.orange), 0,
                       "the right button erased the stroke's right part")

        let cleared = try runGuest("paint", frames: 7, events: merged(stroke, typing([Self.keyC], from: 5)))
        XCTAssertEqual(canvasMismatches(cleared, mask: [], ink: Self.orange), 0, "C clears the canvas")
    }

    func testPaintSameEventsSamePictureAndTwoVCPUsDrawTheSame() throws {
        var rng = SystemRandomNumberGenerator()
        var events: [Int: [InputEvent]] = [:]
        for f in 2...30 {
            var list: [InputEvent] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: list.append(.button(.left, down: Bool.random(using: &rng)))
                case 1: list.append(.key(code: UInt16.random(in: 2...9, using: &rng), down: true))
                case 2: list.append(.wheel(vertical: Int32.random(in: -2...2, using: &rng), horizontal: 0))
                default: list.append(.pointer(x: Int32.random(in: -20...340, using: &rng), y: Int32.random(in: -20...220, using: &rng)))
                }
            }
            events[f] = list
        }
        let a = try runGuest("paint", frames: 32, events: events)
        let b = try runGuest("paint", frames: 32, events: events)
        assertSamePicture(a, b, "the same events give the same picture")
        for _ in 0..<4 {  // a vCPU that read the log before vCPU 0 wrote the frame would show here (sometimes)
            let two = try runGuest("paint", cpus: 2, frames: 32, events: events)
            assertSamePicture(a, two, "two vCPUs (each drawing its band) apply the same events at the same frames")
        }
    }

    // MARK: - desktop

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

    // MARK: - bad input

    func testAFloodOfEventsNeitherCrashesNorLosesKeys() throws {
        var rng = SystemRandomNumberGenerator()
        for guest in ["desktop", "terminal", "paint"] {
            var flood: [InputEvent] = []
            for _ in 0..<3000 {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: flood.append(.key(code: UInt16.random(in: 0...300, using: &rng), down: Bool.random(using: &rng)))
                case 1: flood.append(.button(PointerButton.allCases.randomElement(using: &rng)!, down: Bool.random(using: &rng)))
                case 2: flood.append(.wheel(vertical: Int32.random(in: -100...100, using: &rng), horizontal: 0))
                default: flood.append(.pointer(x: Int32.random(in: -5000...5000, using: &rng), y: Int32.random(in: -5000...5000, using: &rng)))
                }
            }
            let r = try runGuest(guest, args: guest == "terminal" ? "lines=2" : "", frames: 60, events: [2: flood])
            XCTAssertEqual(r.machine.input.waitingEvents, [], "\(guest): the guest drained the queue")
            let stats = r.machine.input.stats
            XCTAssertEqual(stats.delivered + stats.coalescedMotions, flood.count, "\(guest): every event delivered or coalesced")
            XCTAssertTrue(r.machine.input.guestReadsInput, "\(guest) announced RS_GUEST_READS_INPUT")
        }
    }

    /// Thousands of frames of random clicks, drags, keys and wheel at 640x480: a guest that
    /// indexed out of bounds, or leaked hundreds of bytes per event (its allocator never
    /// frees; 4 MiB in all), would die here.
    func testLongRandomInteractionKeepsEveryGuestRunning() throws {
        var rng = SystemRandomNumberGenerator()
        let frames = 3000
        for guest in ["desktop", "terminal", "paint"] {
            var events: [Int: [InputEvent]] = [:]
            var count = 0
            for f in 2...frames {
                var list: [InputEvent] = []
                for _ in 0..<Int.random(in: 0...4, using: &rng) {
                    switch Int.random(in: 0..<8, using: &rng) {
                    case 0: list.append(.button(.left, down: Bool.random(using: &rng)))
                    case 1: list.append(.button(.right, down: Bool.random(using: &rng)))
                    case 2, 3: list.append(.key(code: UInt16.random(in: 1...120, using: &rng), down: Bool.random(using: &rng)))
                    case 4: list.append(.wheel(vertical: Int32.random(in: -3...3, using: &rng), horizontal: 0))
                    default: list.append(.pointer(x: Int32.random(in: -50...690, using: &rng), y: Int32.random(in: -50...530, using: &rng)))
                    }
                }
                count += list.count
                events[f] = list
            }
            let r = try runGuest(guest, args: guest == "terminal" ? "lines=1" : "", width: 640, height: 480, frames: frames, events: events)
            XCTAssertEqual(r.machine.framesCompleted(cpu: 0), frames, "\(guest) ran all \(frames) frames with \(count) events")
            XCTAssertFalse(r.console.contains { $0.contains("out of memory") }, "\(guest): \(r.console)")
        }
    }

    func testAHeadTooFarAheadIsIgnoredUntilTheVMMPublishesAgain() throws {
        let r = try runGuest("terminal", args: "lines=0", frames: 10, events: typing([Self.keyH], from: 6)) { m in
            // A head 1000 events ahead of tail: more than the queue holds.
            m.ram.pointer(at: Int(GuestLayout.inputQueue) + 64).storeBytes(of: UInt32(1000), as: UInt32.self)
        }
        XCTAssertTrue(r.console.contains { $0.contains("terminal: warning: input queue head 1000 is more than a queue ahead of tail 0") }, "\(r.console)")
        let ok = try runGuest("terminal", args: "lines=0", frames: 10, events: typing([Self.keyH], from: 6))
        assertSamePicture(r, ok, "the next real event is read as if nothing had happened")
    }

    func testGuestsThatIgnoreInputDoNotAnnounceIt() throws {
        let r = try runGuest("bounce", frames: 3)
        XCTAssertFalse(r.machine.input.guestReadsInput)
        // input=0 turns the reader off: the pointer is not followed and the flag stays clear.
        let off = try runGuest("desktop", args: "input=0", frames: 6, events: [2: [.pointer(x: 5, y: 5)]])
        assertSamePicture(off, try runGuest("desktop", frames: 6), "desktop input=0 draws as if no event came")
        XCTAssertFalse(off.machine.input.guestReadsInput)
        XCTAssertEqual(off.machine.input.waitingEvents, [], "the one event fits the ring, unread")
    }
}

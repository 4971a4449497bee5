import Foundation
import Input
import KVM
import Machine
import TestSupport
import XCTest

/// The terminal guest under typed keys on real KVM: echo at the prompt, the US layout, shift,
/// caps lock, backspace and enter.
final class TerminalInputTests: XCTestCase, GuestInputFixtures {
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
}

import Foundation
@testable import Input
import Synchronization
import Testing

@Suite("--input-script parsing and playing")
struct InputScriptTests {
    func parse(_ text: String, name: String = "s.txt") throws(InputScriptError) -> [InputScript.Entry] {
        try InputScript(parsing: Array(text.utf8), name: name).entries
    }

    /// The line the user would see for `text`, or nil when it parses.
    func error(_ text: String) -> String? {
        do { _ = try parse(text); return nil } catch { return error.description }
    }

    @Test("the documented example parses to exactly its events")
    func example() throws {
        let text = """
            # a comment, then a blank line

            120 key down KEY_A
            121 key up KEY_A   # trailing comment
            130 pointer 400 300
            131 button down left
            131 button up left
            132 wheel -1
            133\twheel 2 -3
            150 display-size 1920 1080
            160 key down 183
            """
        let e = try parse(text)
        #expect(e.map(\.frame) == [120, 121, 130, 131, 131, 132, 133, 150, 160])
        #expect(e.map(\.line) == [3, 4, 5, 6, 7, 8, 9, 10, 11])
        #expect(e.map(\.event) == [
            .key(code: 30, down: true), .key(code: 30, down: false), .pointer(x: 400, y: 300),
            .button(.left, down: true), .button(.left, down: false), .wheel(vertical: -1, horizontal: 0),
            .wheel(vertical: 2, horizontal: -3), .displaySize(width: 1920, height: 1080), .key(code: 183, down: true),
        ])
    }

    @Test("type presses and releases each character's key, with Shift where needed, and keeps '#' and spaces")
    func typing() throws {
        let e = try parse("5 type Hi #1\\n\r\n")
        let k = { (c: UInt16, d: Bool) in InputEvent.key(code: c, down: d) }
        #expect(e.map(\.event) == [
            k(42, true), k(35, true), k(35, false), k(42, false), // H
            k(23, true), k(23, false),                             // i
            k(57, true), k(57, false),                             // space
            k(42, true), k(4, true), k(4, false), k(42, false),    // # (Shift+3)
            k(2, true), k(2, false),                               // 1
            k(28, true), k(28, false),                             // \n: Enter
        ])
        #expect(e.allSatisfy { $0.frame == 5 && $0.line == 1 })
        #expect(try parse("1 type  x").count == 4, "one separator is dropped, a second space is typed")
        #expect(try parse("1 type \\\\\\t\\b").map(\.event) == [k(43, true), k(43, false), k(15, true), k(15, false), k(14, true), k(14, false)])
    }

    @Test("lines with the same frame keep their order; frames 0 and 1 are both before the first frame")
    func sameFrame() throws {
        let e = try parse("0 key down KEY_B\n1 key down KEY_C\n1 key up KEY_C\n")
        #expect(e.map(\.event) == [.key(code: 48, down: true), .key(code: 46, down: true), .key(code: 46, down: false)])
    }

    @Test("bad lines name the file, the line and what was expected")
    func badLines() {
        #expect(error("1 key down KEY_FOO") == "s.txt:1: unknown key name 'KEY_FOO': expected a name from linux/input-event-codes.h such as KEY_A, KEY_ENTER or KEY_LEFTSHIFT, or a key code 1...767")
        #expect(error("\n\n-5 key down KEY_A") == "s.txt:3: frame -5 is negative: frames count from 0 (0 and 1 both mean before the first frame)")
        #expect(error("10 key down") == "s.txt:1: expected key down|up NAME, e.g. 'key down KEY_A'")
        #expect(error("10 pointer 5") == "s.txt:1: expected pointer X Y, e.g. 'pointer 400 300'")
        #expect(error("10") == "s.txt:1: expected an action after the frame number: key, pointer, button, wheel, type or display-size")
        #expect(error("10 # only a comment") == "s.txt:1: expected an action after the frame number: key, pointer, button, wheel, type or display-size")
        #expect(error("20 key down KEY_A\n10 key up KEY_A") == "s.txt:2: frame 10 comes after frame 20 (line 1): put the lines in frame order")
        #expect(error("10 key down KEY_A KEY_B") == "s.txt:1: unexpected 'KEY_B' after key down|up NAME: one event per line")
        #expect(error("10 key press KEY_A") == "s.txt:1: expected down or up after 'key', got 'press'")
        #expect(error("10 click left") == "s.txt:1: unknown action 'click': expected key, pointer, button, wheel, type or display-size")
        #expect(error("10 button down side") == "s.txt:1: unknown button 'side': expected left, right or middle")
        #expect(error("10 pointer 7680 0") == "s.txt:1: pointer x 7680 is out of range: use 0...7679")
        #expect(error("10 pointer 0 -1") == "s.txt:1: pointer y -1 is out of range: use 0...4319")
        #expect(error("10 pointer 1.5 2") == "s.txt:1: expected a whole number for the pointer x (0...7679), got '1.5'")
        #expect(error("10 wheel") == "s.txt:1: expected wheel V [H]: vertical clicks (> 0 away from the user) and optional horizontal clicks (> 0 right)")
        #expect(error("10 wheel 1 2 3") == "s.txt:1: unexpected '3' after wheel V H: one event per line")
        #expect(error("10 wheel 99999999999999999999") == "s.txt:1: wheel clicks 99999999999999999999 is out of range: use -1000...1000")
        #expect(error("10 display-size 32 32") == "s.txt:1: display width 32 is out of range: use 64...7680")
        #expect(error("10 type") == "s.txt:1: expected the text to type after 'type', e.g. 'type hello\\n'")
        #expect(error("10 type caf\u{E9}") == "s.txt:1: no key of a US keyboard types '\u{E9}': type takes printable ASCII and \\n \\t \\b \\\\")
        #expect(error("10 type a\\q") == "s.txt:1: unknown escape '\\q' in the text to type: use \\n (Enter), \\t (Tab), \\b (Backspace) or \\\\ (a backslash)")
        #expect(error("10 type a\\") == "s.txt:1: the text to type ends with a lone '\\': write \\\\ for a backslash")
        #expect(error("abc key down KEY_A") == "s.txt:1: expected a frame number (0...1000000000) at the start of the line, got 'abc'")
        #expect(error("1000000001 key down KEY_A") == "s.txt:1: frame 1000000001 is out of range: use 0...1000000000")
        #expect(error("99999999999999999999999 key down KEY_A") == "s.txt:1: frame 99999999999999999999999 is out of range: use 0...1000000000")
        #expect(error("1 key down 0") != nil, "code 0 is KEY_RESERVED, not a key")
        #expect(error("1 key down 768") != nil, "past KEY_MAX")
        do {
            _ = try InputScript(parsing: [0x31, 0x20, 0xFF, 0x0A], name: "bin")
            Issue.record("invalid UTF-8 parsed")
        } catch {
            #expect(error.description == "bin:1: is not UTF-8 text: an input script is plain text")
        }
    }

    @Test("files: missing, a directory and too large are refused in one line; a real file parses")
    func files() throws {
        let dir = NSTemporaryDirectory() + "ringside-input-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: InputScriptError(file: dir + "/none", line: 0, message: "cannot read the input script: No such file or directory")) {
            try InputScript(contentsOf: dir + "/none")
        }
        #expect(throws: InputScriptError(file: dir, line: 0, message: "cannot read the input script: not a regular file")) {
            try InputScript(contentsOf: dir)
        }
        let big = dir + "/big"
        FileManager.default.createFile(atPath: big, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: big))
        try h.truncate(atOffset: UInt64(InputScript.maxBytes + 1))
        try h.close()
        #expect(throws: InputScriptError(file: big, line: 0, message: "is \(InputScript.maxBytes + 1) bytes: an input script may be at most 16 MiB")) {
            try InputScript(contentsOf: big)
        }
        let good = dir + "/good"
        try "1 key down KEY_A\n".write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try InputScript(contentsOf: good).entries.map(\.event) == [.key(code: 30, down: true)])
    }

    final class Recorder: InputSink {
        private let list = Mutex<[InputEvent]>([])
        var events: [InputEvent] { list.withLock { $0 } }
        func push(_ event: InputEvent) { list.withLock { $0.append(event) } }
    }

    @Test("the player pushes frame N's events at vCPU 0's doorbell of frame N - 1, and frames 0 and 1 at start")
    func player() throws {
        let script = try InputScript(parsing: Array("0 key down KEY_A\n1 key up KEY_A\n3 pointer 1 2\n3 pointer 3 4\n5 wheel 1\n9 wheel 2\n".utf8), name: "s")
        let sink = Recorder()
        let player = InputScriptPlayer(script: script, sink: sink)
        #expect(player.count(after: 5) == 1)
        player.start()
        #expect(sink.events == [.key(code: 30, down: true), .key(code: 30, down: false)])
        player.frameDone(cpu: 0, frame: 1)
        #expect(sink.events.count == 2, "frame 2 has no events")
        player.frameDone(cpu: 1, frame: 2)
        #expect(sink.events.count == 2, "only vCPU 0 is the clock")
        player.frameDone(cpu: 0, frame: 2)
        #expect(Array(sink.events[2...]) == [.pointer(x: 1, y: 2), .pointer(x: 3, y: 4)])
        player.frameDone(cpu: 0, frame: 3)
        #expect(sink.events.count == 4)
        player.frameDone(cpu: 0, frame: 7) // frames 4...8 passed at once (a received guest): late, never lost
        #expect(sink.events.last == .wheel(vertical: 1, horizontal: 0))
        #expect(player.remaining == 1)
        player.frameDone(cpu: 0, frame: 8)
        #expect(sink.events.last == .wheel(vertical: 2, horizontal: 0) && player.remaining == 0)
        #expect(script.entries(in: 3...5).map(\.frame) == [3, 3, 5])

        // With --frames 4 the guest never starts frame 5: its events stay out of the queue.
        let limited = Recorder()
        let short = InputScriptPlayer(script: script, sink: limited, lastFrame: 4)
        short.start()
        for f in 1...10 { short.frameDone(cpu: 0, frame: f) }
        #expect(limited.events.count == 4 && short.remaining == 2)
        #expect(script.entries(in: 6...8).isEmpty)
    }
}

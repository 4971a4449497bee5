import Foundation
@testable import Input
import Testing
import TestSupport

@Suite("Evdev key names and the US keyboard")
struct EvdevKeyTests {
    static let header = "/usr/include/linux/input-event-codes.h"

    @Test("every name has the code linux/input-event-codes.h gives it",
          .enabled(if: FileManager.default.fileExists(atPath: header) || runningInCI, "needs \(header) (apt-get install linux-libc-dev)"))
    func namesMatchTheKernelHeader() throws {
        let text = try String(contentsOfFile: Self.header, encoding: .utf8)
        var defined: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if f.count >= 3, f[0] == "#define", f[1].hasPrefix("KEY_"), let v = Int(f[2]) { defined[String(f[1])] = v }
        }
        #expect(defined.count > 200, "the header was read")
        for (name, code) in EvdevKey.all {
            #expect(defined[name] == Int(code), "\(name)")
        }
    }

    @Test("names and codes are unique, and the keys a script needs are named")
    func tableIsComplete() {
        #expect(Set(EvdevKey.all.map(\.name)).count == EvdevKey.all.count)
        #expect(Set(EvdevKey.all.map(\.code)).count == EvdevKey.all.count)
        var needed = (UnicodeScalar("A").value...UnicodeScalar("Z").value).map { "KEY_\(Character(UnicodeScalar($0)!))" }
        needed += (0...9).map { "KEY_\($0)" } + (1...12).map { "KEY_F\($0)" }
        needed += ["KEY_ENTER", "KEY_SPACE", "KEY_BACKSPACE", "KEY_TAB", "KEY_ESC", "KEY_UP", "KEY_DOWN", "KEY_LEFT", "KEY_RIGHT",
                   "KEY_LEFTSHIFT", "KEY_RIGHTSHIFT", "KEY_LEFTCTRL", "KEY_RIGHTCTRL", "KEY_LEFTALT", "KEY_RIGHTALT", "KEY_LEFTMETA",
                   "KEY_HOME", "KEY_END", "KEY_PAGEUP", "KEY_PAGEDOWN", "KEY_INSERT", "KEY_DELETE",
                   "KEY_MINUS", "KEY_EQUAL", "KEY_COMMA", "KEY_DOT", "KEY_SLASH", "KEY_SEMICOLON", "KEY_APOSTROPHE", "KEY_GRAVE",
                   "KEY_BACKSLASH", "KEY_LEFTBRACE", "KEY_RIGHTBRACE"]
        for name in needed { #expect(EvdevKey.code(named: name) != nil, "\(name)") }
        #expect(EvdevKey.code(named: "KEY_A") == 30)
        #expect(EvdevKey.code(named: "key_a") == 30, "letters in any case")
        #expect(EvdevKey.code(named: "A") == nil, "the KEY_ prefix is part of the name")
        #expect(EvdevKey.name(of: 28) == "KEY_ENTER")
    }

    @Test("every printable ASCII character has a key; capitals and shifted symbols hold Shift")
    func usKeyboard() {
        for v in 0x20...0x7E {
            let c = Character(UnicodeScalar(UInt8(v)))
            #expect(USKeyboard.stroke(for: c) != nil, "\(c)")
        }
        #expect(USKeyboard.stroke(for: "a") == .init(code: 30, shift: false))
        #expect(USKeyboard.stroke(for: "A") == .init(code: 30, shift: true))
        #expect(USKeyboard.stroke(for: "!") == .init(code: 2, shift: true))
        #expect(USKeyboard.stroke(for: "?") == .init(code: 53, shift: true))
        #expect(USKeyboard.stroke(for: "\n") == .init(code: 28, shift: false))
        #expect(USKeyboard.stroke(for: "é") == nil)
        #expect(USKeyboard.stroke(for: "\u{7F}") == nil)
        #expect(USKeyboard.events(typing: "H") == [.key(code: 42, down: true), .key(code: 35, down: true), .key(code: 35, down: false), .key(code: 42, down: false)])
        // Two characters on one key differ only by Shift.
        var seen: [UInt16: [Bool]] = [:]
        for v in 0x20...0x7E { let s = USKeyboard.stroke(for: Character(UnicodeScalar(UInt8(v))))!; seen[s.code, default: []].append(s.shift) }
        for (code, shifts) in seen { #expect(shifts.count <= 2 && Set(shifts).count == shifts.count, "key \(code)") }
    }
}

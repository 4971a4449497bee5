/// Which key of a US keyboard types a character, and whether Shift is held for it: what
/// `type TEXT` in an input script presses.
public enum USKeyboard {
    /// A key press that types one character.
    public struct Stroke: Equatable, Sendable {
        public var code: UInt16
        public var shift: Bool
    }

    /// The stroke for `c`: printable ASCII, newline (Enter), tab and backspace; nil otherwise.
    public static func stroke(for c: Character) -> Stroke? {
        guard let ascii = c.asciiValue else { return nil }
        return table[Int(ascii)]
    }

    /// The events that type `c`: Shift down if needed, key down, key up, Shift up.
    public static func events(typing c: Character) -> [InputEvent]? {
        guard let s = stroke(for: c) else { return nil }
        let press: [InputEvent] = [.key(code: s.code, down: true), .key(code: s.code, down: false)]
        return s.shift ? [.key(code: EvdevKey.leftShift, down: true)] + press + [.key(code: EvdevKey.leftShift, down: false)] : press
    }

    /// Indexed by ASCII value.
    private static let table: [Stroke?] = {
        var t = [Stroke?](repeating: nil, count: 128)
        func put(_ chars: String, _ name: String, shift: Bool) {
            let code = EvdevKey.code(named: name)!
            for c in chars.unicodeScalars { t[Int(c.value)] = Stroke(code: code, shift: shift) }
        }
        for (lower, name) in zip("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
            put(String(lower), "KEY_\(name)", shift: false)
            put(String(name), "KEY_\(name)", shift: true)
        }
        let digits = "1234567890", shifted = "!@#$%^&*()"
        for (d, s) in zip(digits, shifted) {
            put(String(d), "KEY_\(d)", shift: false)
            put(String(s), "KEY_\(d)", shift: true)
        }
        // Unshifted, shifted, key.
        let punctuation: [(String, String, String)] = [
            ("-", "_", "KEY_MINUS"), ("=", "+", "KEY_EQUAL"), ("[", "{", "KEY_LEFTBRACE"), ("]", "}", "KEY_RIGHTBRACE"),
            (";", ":", "KEY_SEMICOLON"), ("'", "\"", "KEY_APOSTROPHE"), ("`", "~", "KEY_GRAVE"), ("\\", "|", "KEY_BACKSLASH"),
            (",", "<", "KEY_COMMA"), (".", ">", "KEY_DOT"), ("/", "?", "KEY_SLASH"),
        ]
        for (plain, shiftedChar, name) in punctuation {
            put(plain, name, shift: false)
            put(shiftedChar, name, shift: true)
        }
        put(" ", "KEY_SPACE", shift: false)
        put("\n", "KEY_ENTER", shift: false)
        put("\t", "KEY_TAB", shift: false)
        put("\u{8}", "KEY_BACKSPACE", shift: false)
        return t
    }()
}

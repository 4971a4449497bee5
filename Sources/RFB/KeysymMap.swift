/// X11 keysyms (what RFB KeyEvents carry) to Linux evdev key codes (what the guest's input
/// queue takes), for a US layout. A documented table rather than libxkbcommon: RFB sends
/// keysyms, not key codes, so the mapping is by symbol, and this covers what a desktop guest
/// needs. Keysyms are from <X11/keysymdef.h>; evdev codes from <linux/input-event-codes.h>.
///
/// | keysyms | evdev |
/// |---|---|
/// | a-z, A-Z (0x61-0x7a, 0x41-0x5a) | KEY_A (30) ... by keyboard position |
/// | 0-9 and their shifted symbols !@#$%^&*() | KEY_1 (2) ... KEY_0 (11) |
/// | - _ = + [ { ] } ; : ' " ` ~ \ \| , < . > / ? space | their US keys |
/// | Return, BackSpace, Tab, Escape, Delete, Insert, Home, End, Page_Up, Page_Down | the named keys |
/// | Left, Up, Right, Down | KEY_LEFT (105), KEY_UP (103), KEY_RIGHT (106), KEY_DOWN (108) |
/// | Shift, Control, Alt, Meta/Super (left and right), ISO_Level3_Shift (AltGr), Caps_Lock | the modifiers |
/// | F1-F12 (0xffbe-0xffc9) | KEY_F1 (59) ... KEY_F10 (68), KEY_F11 (87), KEY_F12 (88) |
public enum KeysymMap {
    /// A key: its evdev code, and whether the symbol is typed with Shift on a US keyboard.
    public struct Key: Equatable, Sendable {
        public let code: UInt16
        public let shifted: Bool
    }

    public static let leftShift: UInt16 = 42

    /// The key for `keysym`, or nil for a symbol not in the table.
    public static func key(forKeysym keysym: UInt32) -> Key? {
        if let c = special[keysym] { return Key(code: c, shifted: false) }
        guard keysym < 0x80, let ch = Unicode.Scalar(keysym) else { return nil }
        let c = Character(ch)
        if let code = letters[c.lowercased().first!] { return Key(code: code, shifted: c.isUppercase) }
        if let code = unshifted[c] { return Key(code: code, shifted: false) }
        if let code = shifted[c] { return Key(code: code, shifted: true) }
        return nil
    }

    /// Whether `code` is a Shift key.
    public static func isShift(_ code: UInt16) -> Bool { code == 42 || code == 54 }

    private static let letters: [Character: UInt16] = {
        let rows: [(String, UInt16)] = [("qwertyuiop", 16), ("asdfghjkl", 30), ("zxcvbnm", 44)]
        var m: [Character: UInt16] = [:]
        for (row, first) in rows { for (i, ch) in row.enumerated() { m[ch] = first + UInt16(i) } }
        return m
    }()

    private static let unshifted: [Character: UInt16] = [
        "1": 2, "2": 3, "3": 4, "4": 5, "5": 6, "6": 7, "7": 8, "8": 9, "9": 10, "0": 11,
        "-": 12, "=": 13, "[": 26, "]": 27, ";": 39, "'": 40, "`": 41, "\\": 43,
        ",": 51, ".": 52, "/": 53, " ": 57,
    ]

    private static let shifted: [Character: UInt16] = [
        "!": 2, "@": 3, "#": 4, "$": 5, "%": 6, "^": 7, "&": 8, "*": 9, "(": 10, ")": 11,
        "_": 12, "+": 13, "{": 26, "}": 27, ":": 39, "\"": 40, "~": 41, "|": 43,
        "<": 51, ">": 52, "?": 53,
    ]

    private static let special: [UInt32: UInt16] = {
        var m: [UInt32: UInt16] = [
            0xff08: 14,  // BackSpace -> KEY_BACKSPACE
            0xff09: 15,  // Tab -> KEY_TAB
            0xff0d: 28,  // Return -> KEY_ENTER
            0xff8d: 96,  // KP_Enter -> KEY_KPENTER
            0xff1b: 1,   // Escape -> KEY_ESC
            0xffff: 111, // Delete -> KEY_DELETE
            0xff63: 110, // Insert -> KEY_INSERT
            0xff50: 102, // Home -> KEY_HOME
            0xff57: 107, // End -> KEY_END
            0xff55: 104, // Page_Up (Prior) -> KEY_PAGEUP
            0xff56: 109, // Page_Down (Next) -> KEY_PAGEDOWN
            0xff51: 105, // Left -> KEY_LEFT
            0xff52: 103, // Up -> KEY_UP
            0xff53: 106, // Right -> KEY_RIGHT
            0xff54: 108, // Down -> KEY_DOWN
            0xffe1: 42,  // Shift_L -> KEY_LEFTSHIFT
            0xffe2: 54,  // Shift_R -> KEY_RIGHTSHIFT
            0xffe3: 29,  // Control_L -> KEY_LEFTCTRL
            0xffe4: 97,  // Control_R -> KEY_RIGHTCTRL
            0xffe5: 58,  // Caps_Lock -> KEY_CAPSLOCK
            0xffe7: 125, // Meta_L -> KEY_LEFTMETA
            0xffe8: 126, // Meta_R -> KEY_RIGHTMETA
            0xffe9: 56,  // Alt_L -> KEY_LEFTALT
            0xffea: 100, // Alt_R -> KEY_RIGHTALT
            0xffeb: 125, // Super_L -> KEY_LEFTMETA
            0xffec: 126, // Super_R -> KEY_RIGHTMETA
            0xfe03: 100, // ISO_Level3_Shift (AltGr) -> KEY_RIGHTALT
            0xff7f: 69,  // Num_Lock -> KEY_NUMLOCK
            0xff14: 70,  // Scroll_Lock -> KEY_SCROLLLOCK
        ]
        for i in 0..<10 { m[0xffbe + UInt32(i)] = 59 + UInt16(i) } // F1-F10 -> KEY_F1-KEY_F10
        m[0xffc8] = 87 // F11 -> KEY_F11
        m[0xffc9] = 88 // F12 -> KEY_F12
        return m
    }()
}

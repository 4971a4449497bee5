/// QEMU's Extended Key Event carries the key's XT (PC set 1) make code as QEMU numbers it:
/// one-byte codes as they are, and the two-byte codes `0xE0 xx` as `0x80 | xx` (so Up,
/// `E0 48`, is 0xC8). This maps those numbers to Linux evdev codes, the codes the guest's
/// input events carry, with no keyboard layout in between. The form `0xE0xx` is read as
/// `0x80 | xx` too.
public enum XTScancodes {
    /// The evdev code of XT key `code`, or nil for a code with no key here.
    public static func evdev(_ code: UInt32) -> UInt16? {
        var c = code
        if c & 0xFF00 == 0xE000 { c = 0x80 | (c & 0x7F) }
        guard c < 0x100 else { return nil }
        if c >= 0x01 && c <= 0x53 { return UInt16(c) } // Esc ... keypad '.': evdev numbers them as set 1 does
        return c < 0x80 ? plain[UInt8(c)] : extended[UInt8(c & 0x7F)]
    }

    /// One-byte codes past 0x53 (F11, F12, the 102nd key, the Japanese and Brazilian keys, F13-F15).
    static let plain: [UInt8: UInt16] = [
        0x54: 99, // Alt+SysRq -> KEY_SYSRQ
        0x56: 86, // KEY_102ND
        0x57: 87, 0x58: 88, // F11, F12
        0x59: 117, // KEY_KPEQUAL
        0x5C: 95, // KEY_KPJPCOMMA
        0x5D: 183, 0x5E: 184, 0x5F: 185, // F13, F14, F15
        0x70: 93, // KEY_KATAKANAHIRAGANA
        0x73: 89, // KEY_RO
        0x76: 85, // KEY_ZENKAKUHANKAKU
        0x77: 91, // KEY_HIRAGANA
        0x78: 90, // KEY_KATAKANA
        0x79: 92, // KEY_HENKAN
        0x7B: 94, // KEY_MUHENKAN
        0x7D: 124, // KEY_YEN
        0x7E: 121, // KEY_KPCOMMA
    ]

    /// Codes after an 0xE0 prefix (the second byte).
    static let extended: [UInt8: UInt16] = [
        0x10: 165, // KEY_PREVIOUSSONG
        0x19: 163, // KEY_NEXTSONG
        0x1C: 96, // KEY_KPENTER
        0x1D: 97, // KEY_RIGHTCTRL
        0x20: 113, // KEY_MUTE
        0x21: 140, // KEY_CALC
        0x22: 164, // KEY_PLAYPAUSE
        0x24: 166, // KEY_STOPCD
        0x2E: 114, // KEY_VOLUMEDOWN
        0x30: 115, // KEY_VOLUMEUP
        0x32: 172, // KEY_HOMEPAGE
        0x35: 98, // KEY_KPSLASH
        0x37: 99, // Print Screen -> KEY_SYSRQ
        0x38: 100, // KEY_RIGHTALT
        0x46: 119, // Ctrl+Break / Pause -> KEY_PAUSE
        0x47: 102, 0x48: 103, 0x49: 104, // Home, Up, Page Up
        0x4B: 105, 0x4D: 106, // Left, Right
        0x4F: 107, 0x50: 108, 0x51: 109, // End, Down, Page Down
        0x52: 110, 0x53: 111, // Insert, Delete
        0x5B: 125, 0x5C: 126, // KEY_LEFTMETA, KEY_RIGHTMETA
        0x5D: 127, // KEY_COMPOSE (the menu key)
        0x5E: 116, // KEY_POWER
        0x5F: 142, // KEY_SLEEP
        0x63: 143, // KEY_WAKEUP
    ]
}

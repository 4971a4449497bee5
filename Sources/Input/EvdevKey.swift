/// Linux evdev key codes by name, as `linux/input-event-codes.h` defines them: the codes
/// virtio-input and QEMU send, and the codes of the guest ABI's key events. Only the keys of
/// a PC keyboard (letters, digits, punctuation, editing and cursor keys, modifiers, F1-F12,
/// the keypad) are named; any other code may still be sent by number.
public enum EvdevKey {
    /// Every named key, in code order.
    public static let all: [(name: String, code: UInt16)] = [
        ("KEY_ESC", 1),
        ("KEY_1", 2), ("KEY_2", 3), ("KEY_3", 4), ("KEY_4", 5), ("KEY_5", 6),
        ("KEY_6", 7), ("KEY_7", 8), ("KEY_8", 9), ("KEY_9", 10), ("KEY_0", 11),
        ("KEY_MINUS", 12), ("KEY_EQUAL", 13), ("KEY_BACKSPACE", 14), ("KEY_TAB", 15),
        ("KEY_Q", 16), ("KEY_W", 17), ("KEY_E", 18), ("KEY_R", 19), ("KEY_T", 20),
        ("KEY_Y", 21), ("KEY_U", 22), ("KEY_I", 23), ("KEY_O", 24), ("KEY_P", 25),
        ("KEY_LEFTBRACE", 26), ("KEY_RIGHTBRACE", 27), ("KEY_ENTER", 28), ("KEY_LEFTCTRL", 29),
        ("KEY_A", 30), ("KEY_S", 31), ("KEY_D", 32), ("KEY_F", 33), ("KEY_G", 34),
        ("KEY_H", 35), ("KEY_J", 36), ("KEY_K", 37), ("KEY_L", 38),
        ("KEY_SEMICOLON", 39), ("KEY_APOSTROPHE", 40), ("KEY_GRAVE", 41), ("KEY_LEFTSHIFT", 42),
        ("KEY_BACKSLASH", 43),
        ("KEY_Z", 44), ("KEY_X", 45), ("KEY_C", 46), ("KEY_V", 47), ("KEY_B", 48),
        ("KEY_N", 49), ("KEY_M", 50),
        ("KEY_COMMA", 51), ("KEY_DOT", 52), ("KEY_SLASH", 53), ("KEY_RIGHTSHIFT", 54),
        ("KEY_KPASTERISK", 55), ("KEY_LEFTALT", 56), ("KEY_SPACE", 57), ("KEY_CAPSLOCK", 58),
        ("KEY_F1", 59), ("KEY_F2", 60), ("KEY_F3", 61), ("KEY_F4", 62), ("KEY_F5", 63),
        ("KEY_F6", 64), ("KEY_F7", 65), ("KEY_F8", 66), ("KEY_F9", 67), ("KEY_F10", 68),
        ("KEY_NUMLOCK", 69), ("KEY_SCROLLLOCK", 70),
        ("KEY_KP7", 71), ("KEY_KP8", 72), ("KEY_KP9", 73), ("KEY_KPMINUS", 74),
        ("KEY_KP4", 75), ("KEY_KP5", 76), ("KEY_KP6", 77), ("KEY_KPPLUS", 78),
        ("KEY_KP1", 79), ("KEY_KP2", 80), ("KEY_KP3", 81), ("KEY_KP0", 82), ("KEY_KPDOT", 83),
        ("KEY_102ND", 86), ("KEY_F11", 87), ("KEY_F12", 88),
        ("KEY_KPENTER", 96), ("KEY_RIGHTCTRL", 97), ("KEY_KPSLASH", 98), ("KEY_SYSRQ", 99),
        ("KEY_RIGHTALT", 100),
        ("KEY_HOME", 102), ("KEY_UP", 103), ("KEY_PAGEUP", 104), ("KEY_LEFT", 105),
        ("KEY_RIGHT", 106), ("KEY_END", 107), ("KEY_DOWN", 108), ("KEY_PAGEDOWN", 109),
        ("KEY_INSERT", 110), ("KEY_DELETE", 111),
        ("KEY_KPEQUAL", 117), ("KEY_PAUSE", 119),
        ("KEY_LEFTMETA", 125), ("KEY_RIGHTMETA", 126), ("KEY_COMPOSE", 127),
    ]

    /// The highest key code evdev defines (`KEY_MAX`); codes above it are not keys.
    public static let maxCode: UInt16 = 0x2FF

    private static let byName: [String: UInt16] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0.code) })
    private static let byCode: [UInt16: String] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0.name) })

    /// The code of `name` (`KEY_A`; letters in any case), or nil when it is not a named key.
    public static func code(named name: String) -> UInt16? {
        byName[name.uppercased()]
    }

    /// `KEY_A` for 30; nil for a code without a name here.
    public static func name(of code: UInt16) -> String? { byCode[code] }

    // Codes the rest of Ringside refers to by meaning.
    public static let leftShift: UInt16 = 42
    public static let rightShift: UInt16 = 54
    public static let leftCtrl: UInt16 = 29
    public static let rightCtrl: UInt16 = 97
    public static let leftAlt: UInt16 = 56
    public static let rightAlt: UInt16 = 100
    public static let enter: UInt16 = 28
    public static let tab: UInt16 = 15
    public static let backspace: UInt16 = 14
}

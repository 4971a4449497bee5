/// A pointer button, numbered as Linux evdev numbers it (BTN_LEFT = 0x110), which is also
/// the code the guest ABI's button events carry.
public enum PointerButton: UInt16, Sendable, CaseIterable {
    case left = 0x110, right = 0x111, middle = 0x112

    public var name: String {
        switch self {
        case .left: "left"
        case .right: "right"
        case .middle: "middle"
        }
    }
}

/// One input event on its way to the guest. Keys are Linux evdev key codes (the codes
/// virtio-input and QEMU use); the pointer is absolute, in framebuffer pixels (a tablet).
public enum InputEvent: Equatable, Sendable {
    case key(code: UInt16, down: Bool)
    /// A held key's auto-repeat (evdev value 2), at the host desktop's rate: the guest types
    /// it again as if pressed. Only between the key's down and its up.
    case keyRepeat(code: UInt16)
    case pointer(x: Int32, y: Int32)
    case button(PointerButton, down: Bool)
    /// Wheel clicks: vertical > 0 is away from the user (up), horizontal > 0 is right.
    case wheel(vertical: Int32, horizontal: Int32)
    /// The host's window would like this mode (the guest may answer with a mode set).
    case displaySize(width: Int32, height: Int32)

    /// Key and button events must never be dropped; pointer motion may be coalesced.
    public var isMotion: Bool {
        if case .pointer = self { return true }
        return false
    }
}

/// Anything that accepts input for the guest: the machine's input queue, or a test's recorder.
/// `push` may be called from any thread and never blocks on the guest.
public protocol InputSink: AnyObject, Sendable {
    func push(_ event: InputEvent)
}

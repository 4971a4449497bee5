import Input

/// One client's KeyEvents and PointerEvents as guest input events: keysyms through
/// `KeysymMap`, the pointer as an absolute position clamped to the screen, buttons 1-3 as
/// left/middle/right presses and releases, buttons 4/5 (6/7) as one vertical (horizontal)
/// wheel click per press. What the client holds is remembered, so that `releaseAll` can let
/// go of it when the client leaves (as QEMU does): the guest never keeps a key or a button
/// down for a client that is gone.
public struct InputTranslator: Sendable {
    private var buttons: UInt8 = 0
    private var position: (x: Int, y: Int)? = nil
    /// Shift keys the client holds (a shifted symbol typed without one gets a Shift around it).
    private var shiftsHeld = Set<UInt16>()
    /// Keys pressed with a Shift this translator added, so their release removes it.
    private var addedShift = Set<UInt16>()
    /// Every key down in the guest because of this client (Shifts added for it included).
    private var keysDown = Set<UInt16>()

    public init() {}

    /// Releases for everything this client holds: its keys (in code order), then its
    /// buttons; afterwards it holds nothing.
    public mutating func releaseAll() -> [InputEvent] {
        var out = keysDown.sorted().map { InputEvent.key(code: $0, down: false) }
        let map: [(UInt8, PointerButton)] = [(1, .left), (2, .middle), (4, .right)]
        for (bit, b) in map where buttons & bit != 0 { out.append(.button(b, down: false)) }
        keysDown.removeAll()
        shiftsHeld.removeAll()
        addedShift.removeAll()
        buttons = 0
        return out
    }

    public mutating func key(down: Bool, keysym: UInt32) -> [InputEvent] {
        let events = translateKey(down: down, keysym: keysym)
        for case let .key(code, isDown) in events {
            if isDown { keysDown.insert(code) } else { keysDown.remove(code) }
        }
        return events
    }

    /// QEMU's Extended Key Event: the key by its XT code, straight to its evdev code with no
    /// layout and no Shift added (the client sends its own); a code with no key here (0 when
    /// the client does not know it) falls back to the keysym, as a KeyEvent.
    public mutating func extendedKey(down: Bool, keysym: UInt32, keycode: UInt32) -> [InputEvent] {
        guard let code = XTScancodes.evdev(keycode) else { return key(down: down, keysym: keysym) }
        if down { keysDown.insert(code) } else { keysDown.remove(code) }
        return [.key(code: code, down: down)]
    }

    private mutating func translateKey(down: Bool, keysym: UInt32) -> [InputEvent] {
        guard let k = KeysymMap.key(forKeysym: keysym) else { return [] }
        if KeysymMap.isShift(k.code) {
            if down { shiftsHeld.insert(k.code) } else { shiftsHeld.remove(k.code) }
            return [.key(code: k.code, down: down)]
        }
        if down {
            if k.shifted && shiftsHeld.isEmpty {
                addedShift.insert(k.code)
                return [.key(code: KeysymMap.leftShift, down: true), .key(code: k.code, down: true)]
            }
            return [.key(code: k.code, down: true)]
        }
        if addedShift.remove(k.code) != nil {
            return [.key(code: k.code, down: false), .key(code: KeysymMap.leftShift, down: false)]
        }
        return [.key(code: k.code, down: false)]
    }

    public mutating func pointer(buttons new: UInt8, x: Int, y: Int, width: Int, height: Int) -> [InputEvent] {
        var out: [InputEvent] = []
        let p = (x: min(max(0, x), max(0, width - 1)), y: min(max(0, y), max(0, height - 1)))
        if position == nil || position! != p {
            position = p
            out.append(.pointer(x: Int32(p.x), y: Int32(p.y)))
        }
        let pressed = new & ~buttons, released = buttons & ~new
        let map: [(UInt8, PointerButton)] = [(1, .left), (2, .middle), (4, .right)]
        for (bit, b) in map {
            if pressed & bit != 0 { out.append(.button(b, down: true)) }
            if released & bit != 0 { out.append(.button(b, down: false)) }
        }
        if pressed & 8 != 0 { out.append(.wheel(vertical: 1, horizontal: 0)) }
        if pressed & 16 != 0 { out.append(.wheel(vertical: -1, horizontal: 0)) }
        if pressed & 32 != 0 { out.append(.wheel(vertical: 0, horizontal: -1)) }
        if pressed & 64 != 0 { out.append(.wheel(vertical: 0, horizontal: 1)) }
        buttons = new
        return out
    }
}

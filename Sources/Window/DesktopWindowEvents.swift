internal import CSDL
import Input

extension DesktopWindow {
    /// Handles window events for up to `seconds` (returning at the first batch), and returns
    /// what the owner must do. Resizes, exposes, Ctrl+Alt+F (full screen) and Ctrl+Alt+D
    /// (show-dirty) are handled here; keys, pointer, buttons and wheel go to `input`.
    public func pollCommands(waitingUpTo seconds: Double = 0) -> [WindowCommand] {
        var commands: [WindowCommand] = []
        var timeout = Int32(max(0, min(seconds * 1000, 1000)).rounded(.up))
        var event = csdl_event()
        while csdl_wait_event(&event, timeout) != 0 {
            timeout = 0
            switch event.kind {
            case Int32(CSDL_EVENT_QUIT):
                commands.append(.quit)
            case Int32(CSDL_EVENT_RESIZED), Int32(CSDL_EVENT_EXPOSED):
                needsFull = true
            case Int32(CSDL_EVENT_KEY) where event.autorepeat != 0:
                // Never a shortcut again: holding Ctrl+Alt+F must not toggle full screen on and off.
                forwarder.keyRepeat(evdev: UInt16(truncatingIfNeeded: event.evdev))
            case Int32(CSDL_EVENT_KEY):
                // A shortcut's key never reaches the guest (nor, then, does its release).
                if event.down != 0 && event.ctrl_alt != 0, let command = shortcut(event.key) {
                    if let command { commands.append(command) }
                    continue
                }
                forwarder.key(evdev: UInt16(truncatingIfNeeded: event.evdev), down: event.down != 0)
            case Int32(CSDL_EVENT_MOTION):
                forwarder.motion(to: guestPoint(event))
            case Int32(CSDL_EVENT_BUTTON):
                let button: PointerButton = event.button == Int32(CSDL_BUTTON_LEFT) ? .left : event.button == Int32(CSDL_BUTTON_RIGHT) ? .right : .middle
                forwarder.button(button, down: event.down != 0, at: guestPoint(event))
            case Int32(CSDL_EVENT_WHEEL):
                forwarder.wheel(vertical: event.y, horizontal: event.x)
            case Int32(CSDL_EVENT_FOCUS_LOST):
                forwarder.releaseAll()
            default:
                break
            }
        }
        return commands
    }

    /// Ctrl+Alt + `key`: `.some(command)` for a shortcut (`.some(nil)` when the window
    /// handled it itself), nil when `key` is not one.
    private func shortcut(_ key: Int32) -> WindowCommand?? {
        switch key {
        case Int32(CSDL_KEY_Q): return .some(.quit)
        case Int32(CSDL_KEY_S): return .some(.screenshot)
        case Int32(CSDL_KEY_M): return .some(.migrate)
        case Int32(CSDL_KEY_F): toggleFullScreen(); return .some(nil)
        case Int32(CSDL_KEY_D): setShowDirty(!showDirty); return .some(nil)
        default: return nil
        }
    }

    /// The guest pixel under the event's pointer position, clamped to the picture while a
    /// button is held; nil off the picture.
    private func guestPoint(_ event: csdl_event) -> (x: Int32, y: Int32)? {
        InputForwarder.guestPoint(letterbox, screen: screenRect, windowX: Int(event.x), windowY: Int(event.y),
                                  clamp: !forwarder.buttonsDown.isEmpty)
    }

    /// The Linux evdev code SDL's key `name` ("A", "Left Shift", ...) is forwarded as; 0 for none.
    static func evdevCode(sdlKeyName name: String) -> UInt16 { csdl_evdev_code(csdl_scancode_from_name(name)) }
}

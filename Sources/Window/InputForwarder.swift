import Display
import Input

/// Turns what happens in the window into guest input: keys by evdev code, the pointer mapped
/// back through the letterbox to framebuffer pixels, buttons and the wheel. It keeps what it
/// has pressed so that every key or button the guest saw go down also goes up, even when the
/// window loses focus first, and so that the guest never sees an up without its down (a
/// window shortcut's key, a click that began on the black bars).
struct InputForwarder {
    var sink: (any InputSink)?
    /// Keys forwarded down and not yet up.
    private(set) var keysDown: Set<UInt16> = []
    /// Buttons forwarded down and not yet up.
    private(set) var buttonsDown: Set<PointerButton> = []
    /// The last position sent, so unchanged positions are not sent again.
    private var lastPointer: (x: Int32, y: Int32)?

    init(sink: (any InputSink)? = nil) { self.sink = sink }

    mutating func key(evdev code: UInt16, down: Bool) {
        guard let sink, code != 0 else { return }
        if down {
            keysDown.insert(code)
            sink.push(.key(code: code, down: true))
        } else if keysDown.remove(code) != nil {
            sink.push(.key(code: code, down: false))
        }
    }

    /// SDL's auto-repeat of a held key: forwarded only for a key the guest saw go down (not,
    /// say, a window shortcut's key held down).
    mutating func keyRepeat(evdev code: UInt16) {
        guard let sink, keysDown.contains(code) else { return }
        sink.push(.keyRepeat(code: code))
    }

    /// The pointer is over guest pixel `point`, or off the guest's picture (nil).
    mutating func motion(to point: (x: Int32, y: Int32)?) {
        guard let point else { return }
        movePointer(to: point)
    }

    mutating func button(_ button: PointerButton, down: Bool, at point: (x: Int32, y: Int32)?) {
        guard let sink else { return }
        if down {
            guard let point, !buttonsDown.contains(button) else { return } // a press on the bars is the window's
            movePointer(to: point)
            buttonsDown.insert(button)
            sink.push(.button(button, down: true))
        } else if buttonsDown.remove(button) != nil {
            if let point { movePointer(to: point) }
            sink.push(.button(button, down: false))
        }
    }

    mutating func wheel(vertical: Int32, horizontal: Int32) {
        guard let sink, vertical != 0 || horizontal != 0 else { return }
        sink.push(.wheel(vertical: vertical, horizontal: horizontal))
    }

    /// The window lost focus: what is held will not report going up, so let go of it now.
    mutating func releaseAll() {
        guard let sink else { return }
        for code in keysDown.sorted() { sink.push(.key(code: code, down: false)) }
        for b in PointerButton.allCases where buttonsDown.contains(b) { sink.push(.button(b, down: false)) }
        keysDown.removeAll()
        buttonsDown.removeAll()
    }

    private mutating func movePointer(to point: (x: Int32, y: Int32)) {
        guard let sink else { return }
        if let last = lastPointer, last == point { return }
        lastPointer = point
        sink.push(.pointer(x: point.x, y: point.y))
    }

    /// The guest pixel under window pixel (`x`, `y`): through the letterbox to the content,
    /// then into `screen`, where the guest's picture sits in the content (all of it, or the
    /// split view's left part). Nil off the picture unless `clamp`, which pins the point to
    /// the picture's nearest edge (while a button is held, so a drag can reach the edge).
    static func guestPoint(_ box: Letterbox, screen: TileRect, windowX x: Int, windowY y: Int, clamp: Bool) -> (x: Int32, y: Int32)? {
        if clamp {
            let c = box.clampedContentPoint(windowX: x, windowY: y)
            return (Int32(min(max(c.x - screen.x, 0), screen.width - 1)), Int32(min(max(c.y - screen.y, 0), screen.height - 1)))
        }
        guard let c = box.contentPoint(windowX: x, windowY: y), screen.contains(x: c.x, y: c.y) else { return nil }
        return (Int32(c.x - screen.x), Int32(c.y - screen.y))
    }
}

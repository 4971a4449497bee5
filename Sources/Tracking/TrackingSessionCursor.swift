import Display
import Machine

/// The guest's cursor plane as the display's sinks see it: read from guest RAM at every sync
/// (never drawn into the shadow), with a generation that moves whenever it changed.
extension TrackingSession {
    /// The cursor as of the last sync (nil: the guest has none) and its generation.
    public var cursor: (state: CursorState?, generation: UInt64) {
        lock.lock(); defer { lock.unlock() }
        return (cursorState, cursorGeneration)
    }

    /// The cursor as of the last sync, for a caller already under the lock (inside `read` or
    /// `withDisplay`).
    public var cursorLocked: CursorState? { cursorState }

    /// Under the lock, at a sync: reads the plane; returns whether it changed.
    func refreshCursorLocked() -> Bool {
        let now = machine.cursor.read().flatMap(Self.state(of:))
        guard now != cursorState else { return false }
        cursorState = now
        cursorGeneration &+= 1
        return true
    }

    static func state(of c: GuestCursor) -> CursorState? {
        guard let shape = CursorShape(width: c.width, height: c.height, hotX: c.hotX, hotY: c.hotY, pixels: c.pixels, serial: c.shapeSerial) else { return nil }
        return CursorState(shape: shape, x: Int(c.x), y: Int(c.y), visible: c.visible)
    }
}

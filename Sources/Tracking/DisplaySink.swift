import Display

/// One reader of the display: a window, a PNG dumper, a VNC client, a benchmark's null sink.
/// It holds only where it has read the session's damage log up to, and a bitmap to receive
/// the answer in, so a sink that never reads costs nothing per sync and never grows.
/// Read it through `TrackingSession.read(_:_:)`, which holds the session lock.
///
/// `@unchecked Sendable`: its cursor and bitmap are touched only under the session lock.
public final class DisplaySink: @unchecked Sendable {
    public let name: String
    var cursor: DamageCursor
    var changed: DirtyTileBitmap

    init(name: String, damage: TileDamageLog) {
        self.name = name
        cursor = damage.newCursor()
        changed = DirtyTileBitmap(count: damage.count)
    }
}

/// The session's weak reference to a sink: a sink its reader dropped no longer counts as a
/// reader (see `TrackingSession.hasReaders`).
struct WeakDisplaySink {
    weak var sink: DisplaySink?
}

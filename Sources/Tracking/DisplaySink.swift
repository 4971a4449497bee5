import Display
import Synchronization

/// One reader of the display: a window, a PNG dumper, a VNC client, a benchmark's null sink.
/// It holds only where it has read the session's damage log up to, and a bitmap to receive
/// the answer in, so a sink that never reads costs nothing per sync and never grows.
/// Read it through `TrackingSession.read(_:_:)`, which holds the session lock.
public final class DisplaySink: Sendable {
    public let name: String
    /// Where this sink has read the damage log up to, and the bitmap its reads fill (reused,
    /// so a read allocates nothing). Behind its own lock as well as the session's, which
    /// costs one uncontended lock per read and lets the compiler check it.
    private let place: Mutex<(cursor: DamageCursor, changed: DirtyTileBitmap)>

    init(name: String, damage: TileDamageLog) {
        self.name = name
        place = Mutex((damage.newCursor(), DirtyTileBitmap(count: damage.count)))
    }

    /// The tiles repainted since the last call, and the sink moved to now.
    func advance(in damage: TileDamageLog) -> DirtyTileBitmap {
        place.withLock { p in
            damage.changes(since: &p.cursor, into: &p.changed)
            return p.changed
        }
    }

    /// Whether `advance` would return any tile now.
    func hasChanges(in damage: TileDamageLog) -> Bool {
        place.withLock { damage.hasChanges(since: $0.cursor) }
    }
}

/// The session's weak reference to a sink: a sink its reader dropped no longer counts as a
/// reader (see `TrackingSession.hasReaders`).
struct WeakDisplaySink {
    weak var sink: DisplaySink?
}

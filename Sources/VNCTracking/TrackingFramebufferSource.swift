import Display
import RFB
import Tracking

/// The tracking session as the RFB server's framebuffer: the server's surface reads the
/// session's damage through one display sink, under the session's lock, copying only the
/// tiles the session repainted since its last read (once per sync, whatever the clients).
public final class TrackingFramebufferSource: FramebufferSource, Sendable {
    public let session: TrackingSession
    public let desktopName: String

    public init(session: TrackingSession, name: String) {
        self.session = session
        desktopName = name
    }

    public var geometry: FramebufferGeometry { session.withDisplay { $0.shadow.geometry } }

    public func makeReader(name: String) -> any FramebufferReader { SinkReader(session: session, sink: session.makeDisplaySink(name: name)) }

    public func onChange(_ body: @escaping @Sendable () -> Void) { session.onSync(body) }

    public var cursor: (state: CursorState?, generation: UInt64) { session.cursor }

    /// A display sink read as a `FramebufferReader`: the shadow and the sink's dirty tiles,
    /// under the session's lock.
    final class SinkReader: FramebufferReader, Sendable {
        let session: TrackingSession
        let sink: DisplaySink
        init(session: TrackingSession, sink: DisplaySink) {
            self.session = session
            self.sink = sink
        }

        func read(_ body: (FrameView, DirtyTileBitmap) -> Void) {
            session.read(sink) { display, dirty in
                display.shadow.withUnsafeBytes { body(FrameView(geometry: display.shadow.geometry, grid: display.grid, bytes: $0), dirty) }
            }
        }
    }
}

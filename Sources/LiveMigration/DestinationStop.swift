import Synchronization

/// A stop (a signal) that reaches `ringside receive` while it waits for a guest or receives
/// one. Before the commit nothing runs here: what was received is discarded, and the source
/// (asking, as after any failed hand-over) resumes the guest. After the commit the guest runs
/// here and must not be thrown away: the caller stops it as it stops any running guest.
public final class DestinationStop: Sendable {
    private struct State {
        var handOver: DestinationHandOver?
        var stopped = false
    }
    private let state = Mutex(State())

    public init() {}

    /// The migration under way (called once the source has connected).
    func attach(_ handOver: DestinationHandOver) {
        state.withLock { s in
            s.handOver = handOver
            if s.stopped { _ = handOver.discardUnlessStarted() }
        }
    }

    /// True when no guest runs here and now none will (anything received is discarded);
    /// false when the guest already started here.
    public func discardUnlessStarted() -> Bool {
        state.withLock { s in
            s.stopped = true
            guard let h = s.handOver else { return true }
            if case .started = h.discardUnlessStarted() { return false }
            return true
        }
    }
}

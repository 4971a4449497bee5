import NIOCore
import Synchronization

/// Who owns an incoming guest once the destination has said `ready`: shared by the source's
/// connection (which may bring the commit) and any later connection on which the source asks
/// what became of the guest (its own connection having failed after the commit). The guest
/// starts here, or is discarded, exactly once and under one lock, so the answer given to the
/// source is always what happened: the source resumes the guest only on "not started".
final class DestinationHandOver: Sendable {
    enum Phase: Equatable, Sendable {
        /// Pages and state are arriving (or `ready` was sent and the commit is awaited).
        case receiving
        /// The commit came and the vCPUs run; they started this long after it arrived.
        case started(resumeNanos: UInt64)
        /// The source was told the guest did not start here (or it did not ask in time):
        /// nothing received is kept.
        case discarded
    }

    /// What to tell a source that asks.
    enum Answer: Equatable, Sendable {
        case started(resumeNanos: UInt64)
        case notStarted
        /// It asks about a migration this destination does not have.
        case unknownMigration
    }

    private struct State {
        var phase = Phase.receiving
        var id: UInt64?
        var source: Channel?
        var sourceHasAnswer = false
    }
    private let state = Mutex(State())

    /// The migration (the config's id) and the source's connection, once the config arrived.
    func begin(id: UInt64, source: Channel) {
        state.withLock { s in
            s.id = id
            s.source = source
        }
    }

    var phase: Phase { state.withLock { $0.phase } }

    /// The commit arrived: runs `start` (which starts the vCPUs and returns how long after
    /// the commit they started) unless the guest was discarded meanwhile; returns that, or
    /// nil when it was discarded.
    func startUnlessDiscarded(_ start: () -> UInt64) -> UInt64? {
        state.withLock { s -> UInt64? in
            guard s.phase == .receiving else { return nil }
            let resume = start()
            s.phase = .started(resumeNanos: resume)
            return resume
        }
    }

    /// A source asks about migration `id`. Unless the guest runs here, it never will: the
    /// source's connection is closed (a commit still in flight on it is not taken) and what
    /// was received is discarded.
    func answer(migration id: UInt64) -> Answer {
        let (answer, source) = state.withLock { s -> (Answer, Channel?) in
            guard let known = s.id, known == id else { return (.unknownMigration, nil) }
            if case .started(let resume) = s.phase { return (.started(resumeNanos: resume), nil) }
            s.phase = .discarded
            return (.notStarted, s.source)
        }
        source?.close(promise: nil)
        return answer
    }

    /// No word from the source by the deadline: the guest is not started here.
    func discardUnlessStarted() -> Phase {
        state.withLock { s in
            if s.phase == .receiving { s.phase = .discarded }
            return s.phase
        }
    }

    /// The source said `done` on a later connection: it knows where the guest runs.
    func sourceGotItsAnswer() { state.withLock { $0.sourceHasAnswer = true } }
    var sourceHasAnswer: Bool { state.withLock { $0.sourceHasAnswer } }
}

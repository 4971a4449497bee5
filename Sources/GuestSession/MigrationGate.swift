import Synchronization

/// What may touch a running guest's pause state at once: an outgoing migration (it pauses
/// for the hand-over and resumes on failure), a snapshot (it pauses while it writes), and a
/// pause asked for through the control socket. A migration does not start while the guest is
/// paused or a snapshot is written, and pause, resume and snapshots are refused while a
/// migration runs, so no one resumes a guest another paused. Each refusal is the user's line.
final class MigrationGate: Sendable {
    enum Activity: Sendable { case migrating, snapshot }
    private struct State {
        var pausedByUser = false
        var activity: Activity?
    }
    private let state = Mutex(State())

    static let migrationInProgress = "a migration is in progress: wait for it, or cancel it first (ringside ctl PATH cancel)"

    /// Claims the guest for a migration attempt, or says why not.
    func beginMigration() -> String? {
        state.withLock { s in
            if s.pausedByUser { return "the guest is paused (ringside ctl PATH pause): resume it first" }
            switch s.activity {
            case .migrating: return "another migration is in progress"
            case .snapshot: return "a snapshot is being written: try again when it is done"
            case nil: s.activity = .migrating; return nil
            }
        }
    }

    /// Claims the guest for a snapshot, or says why not; returns whether the user had paused it.
    func beginSnapshot() -> Result<Bool, GuestControlError> {
        state.withLock { s in
            guard s.activity == nil else {
                return .failure(GuestControlError(s.activity == .migrating ? Self.migrationInProgress : "a snapshot is being written"))
            }
            s.activity = .snapshot
            return .success(s.pausedByUser)
        }
    }

    func end(_ activity: Activity) { state.withLock { s in if s.activity == activity { s.activity = nil } } }

    /// Records a pause or resume asked for by the user, unless a migration or snapshot holds
    /// the guest; `body` pauses or resumes the machine under the same lock, so neither can
    /// start halfway. Returns whether the state changed.
    func setPaused(_ paused: Bool, _ body: () -> Void) -> Result<Bool, GuestControlError> {
        state.withLock { s in
            switch s.activity {
            case .migrating: return .failure(GuestControlError(Self.migrationInProgress))
            case .snapshot: return .failure(GuestControlError("a snapshot is being written: try again when it is done"))
            case nil: break
            }
            guard s.pausedByUser != paused else { return .success(false) }
            body()
            s.pausedByUser = paused
            return .success(true)
        }
    }

    var isPaused: Bool { state.withLock { $0.pausedByUser } }
    var isMigrating: Bool { state.withLock { $0.activity == .migrating } }
}

/// A control request the running guest refused or could not carry out; `description` is
/// the user's line.
public struct GuestControlError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

import Input
import Tracking

/// What a running guest reports while it runs, for the CLI to print. Called on the thread
/// where it happens (a vCPU, the refresh thread, a timer's event loop, the migration task):
/// each must return quickly and must not call back into the session.
public struct SessionEvents: Sendable {
    /// A complete line on the guest's debug console, from vCPU `cpu` of `cpus`.
    public var consoleLine: @Sendable (_ cpu: Int, _ cpus: Int, _ line: String) -> Void = { _, _, _ in }
    /// Something the user should know; the run goes on.
    public var warning: @Sendable (SessionWarning) -> Void = { _ in }
    /// A sync failed (the error's line). On the refresh thread this also stops the guest.
    public var syncFailed: @Sendable (String) -> Void = { _ in }
    /// `logInput`: an input event on its way to the guest, with the frame that will see it.
    public var inputLogged: @Sendable (_ frame: Int, _ event: InputEvent) -> Void = { _, _ in }
    /// `stats`: the last second's statistics.
    public var intervalStats: @Sendable (TrackingStats) -> Void = { _ in }
    /// `migrationRoundsMS`: a round of the session's migration list ended (also once at the end).
    public var migrationRound: @Sendable (TrackingSession.Round) -> Void = { _ in }
    /// The outgoing migration's steps.
    public var migration: @Sendable (OutgoingMigrationEvent) -> Void = { _ in }

    public init() {}
}

public enum SessionWarning: Sendable {
    /// vCPU `cpu` asked for a display mode the device refused (each reason once, at most 16).
    case modeRefused(cpu: Int, reason: String)
    /// The input script has `count` events for frames after the last frame the guest will run.
    case scriptEventsAfterLastFrame(count: Int, lastFrame: Int)
}

public enum OutgoingMigrationEvent: Sendable {
    /// An attempt begins (`attempt` of `attempts`).
    case started(to: String, attempt: Int, attempts: Int)
    /// A line of the source's progress (each round, with its expected downtime).
    case progress(String)
    /// The run here ended before the hand-over: there is no other attempt.
    case abandoned(to: String, reason: String)
    /// The attempt failed; the guest keeps running here (a next attempt may follow).
    case failed(to: String, reason: String)
}

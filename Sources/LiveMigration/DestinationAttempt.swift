import Dispatch
import Machine
import MigrationWire
import Tracking

/// The destination after it accepted the config: feeds each message of the stream to the
/// `ArrivingGuest`, acknowledges each round (the source learns this side's load rate), says
/// `ready`, and starts the guest when the commit comes. A message that does not fit ends the
/// attempt; the source is told why. From `ready` on the source may commit at any moment, so a
/// connection that fails then leaves the guest in doubt: it waits (`DestinationHandOver`)
/// for the source to ask, on a new connection, and is discarded only once the source has been
/// told so, or when it did not ask in time.
final class DestinationAttempt {
    let machine: Machine
    let connection: MigrationConnection
    let guest: ArrivingGuest
    let handOver: DestinationHandOver
    let progress: @Sendable (String) -> Void

    init(session: TrackingSession, connection: MigrationConnection, verify: Bool, handOver: DestinationHandOver,
         progress: @escaping @Sendable (String) -> Void) {
        machine = session.machine
        self.connection = connection
        guest = ArrivingGuest(machine: machine, verify: verify, source: connection.peer)
        self.handOver = handOver
        self.progress = progress
    }

    /// Seconds the source has to ask again after the connection failed in doubt: long enough
    /// for it to notice (its own timeout) and to reconnect.
    var inDoubtSeconds: Double { 3 * connection.liveness.timeout }

    /// Applies messages until the guest has started here.
    func run() async throws -> MigrationDestination.Report {
        do {
            while true {
                let m: MigrationMessage
                do { m = try await connection.expect() } catch let error as MigrationWireError {
                    // A message that does not decode (a compressed batch that lies, as a rule): the source hears why.
                    try? await connection.send(.abort("the destination gave up: \(error)"))
                    throw error
                }
                let step: ArrivingGuest.Step
                do { step = try guest.apply(m) } catch {
                    try? await connection.send(.abort("the destination gave up: \(error)"))
                    throw error
                }
                switch step {
                case .more: continue
                case .roundEnded(let round, let pages, let load):
                    progress("migration round \(round): \(pages) pages received")
                    try await connection.send(.roundAck(round: round, pages: pages, loadNanos: load))
                case .complete:
                    return try await awaitCommit()
                }
            }
        } catch {
            _ = handOver.discardUnlessStarted() // a source asking from now on hears "not started"
            throw error
        }
    }

    /// Says ready and starts the guest on the commit. Without a commit, the guest is in doubt.
    private func awaitCommit() async throws -> MigrationDestination.Report {
        var readySent: UInt64 = 0
        let received: MigrationMessage
        do {
            try await connection.send(.ready)
            readySent = DispatchTime.now().uptimeNanoseconds
            received = try await connection.receive()
        } catch {
            throw await inDoubt(after: error)
        }
        guard case .commit(let paused, let sinceReady) = received else {
            if case .abort(let why) = received { throw MigrationError.peerAborted(why) } // the source resumes the guest
            throw await inDoubt(after: MigrationError.protocolError("expected commit after ready, not \(received.name)"))
        }
        let commitAt = DispatchTime.now().uptimeNanoseconds
        guard let resume = handOver.startUnlessDiscarded({
            machine.start()
            return DispatchTime.now().uptimeNanoseconds - commitAt
        }) else {
            throw MigrationError.commitNotReceived("the source asked again before its commit arrived, and resumes the guest there")
        }
        let roundTrip = max(0, Double(commitAt - readySent) - Double(sinceReady))
        var report = guest.report
        report.downtimeSeconds = Downtime.seconds(pausedAtCommitNanos: paused, roundTripNanos: roundTrip, resumeNanos: resume)
        try? await connection.send(.started(resumeNanos: resume))
        return report
    }

    /// The connection failed after `ready`: the source may have committed. Waits for it to
    /// ask (`DestinationHandOver.answer`); without a question in `inDoubtSeconds` the guest
    /// is discarded. Returns the error that ends the attempt.
    private func inDoubt(after error: Error) async -> Error {
        progress("migration: the connection failed after ready (\(error)); waiting for the source to ask what became of the guest")
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(inDoubtSeconds * 1e9)
        while handOver.phase == .receiving && DispatchTime.now().uptimeNanoseconds < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let asked = handOver.phase == .discarded
        _ = handOver.discardUnlessStarted()
        if asked { return MigrationError.commitNotReceived("the source asked again, and resumes the guest there") }
        return MigrationError.commitNotReceived(String(format: "the connection failed after ready (%@) and the source did not ask again within %g s",
                                                       "\(error)", inDoubtSeconds))
    }
}

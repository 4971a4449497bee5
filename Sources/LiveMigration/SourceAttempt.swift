import Dispatch
import Machine
import MigrationWire
import Tracking

/// One attempt to hand a running guest over, after the destination accepted the config: the
/// migration subscriber, the page set in flight, whether the guest is paused, and the report.
/// Used by one task from start to end; `run` abandons on any failure before the commit.
final class SourceAttempt {
    let session: TrackingSession
    let machine: Machine
    let connection: MigrationConnection
    let peer: Peer
    let options: MigrationOptions
    let progress: @Sendable (String) -> Void
    let subscriber: MigrationSubscriber
    let pages: PageSender
    let budget: DowntimeBudget
    /// A set taken from the subscriber and not yet all sent: abandoning gives it back.
    var taken: MigrationPageSet?
    var paused = false
    var report = MigrationReport()
    let start = DispatchTime.now().uptimeNanoseconds
    /// When each round began to be sent (DispatchTime ns), for the rounds' service times.
    var roundStarts: [UInt64] = []
    /// Auto-converge's steps so far; the guest's pace is restored when the attempt ends.
    var converge: AutoConverge
    /// The link's round trip as the estimate counts it (`LinkRoundTrip`).
    var roundTrip: LinkRoundTrip

    /// The destination: where to ask again after a lost commit, which migration to ask about,
    /// and the round trip the hellos took.
    struct Peer {
        let host: String
        let port: Int
        let migrationID: UInt64
        let helloRoundTrip: Double
        /// Saving and loading every vCPU's state, as the destination measured it.
        let stateSeconds: Double
        /// Whether the destination's hello says it reads compressed page batches.
        var readsCompressedPages = false
    }

    init(session: TrackingSession, connection: MigrationConnection, peer: Peer, options: MigrationOptions,
         progress: @escaping @Sendable (String) -> Void) throws {
        self.session = session
        machine = session.machine
        self.connection = connection
        self.peer = peer
        self.options = options
        self.progress = progress
        do { subscriber = try session.subscribeMigration() } catch { throw MigrationError.tracking("\(error)") }
        pages = PageSender(machine: machine, connection: connection, maxBandwidth: options.maxBandwidth, start: start,
                           compressor: PageCompressor(mode: options.compression, peerReads: peer.readsCompressedPages))
        budget = DowntimeBudget(maxDowntimeSeconds: options.maxDowntimeSeconds, maxRounds: options.maxRounds)
        converge = AutoConverge(enabled: options.autoConverge)
        roundTrip = LinkRoundTrip(hello: peer.helloRoundTrip)
    }

    /// Pre-copy, then the hand-over. A failure after the commit that asking again could not
    /// settle (`outcomeUnknown`) leaves the guest stopped here; any other, and a commit the
    /// destination says it never got (`commitLost`), gives the guest back to this side.
    func run() async throws -> MigrationReport {
        defer { restorePace() }
        do {
            try await preCopy()
            return try await handOver()
        } catch let e as MigrationError where e.isOutcomeUnknown {
            throw e
        } catch {
            await abandon(because: error)
            throw error
        }
    }

    /// The pages in flight go back to the set, the destination is told why, and a paused
    /// guest carries on here.
    private func abandon(because error: Error) async {
        if let taken { session.giveBack(taken, to: subscriber) }
        try? await connection.send(.abort("\(error)")) // the destination prefixes "the other side abandoned the migration"
        try? session.unsubscribe(subscriber)
        if paused {
            machine.input.setHeld(false) // what waited is delivered here after all
            machine.resume()
        }
    }

    /// Undoes auto-converge, whatever ended the attempt (a guest kept here runs at its pace again).
    private func restorePace() {
        guard converge.percent > 0 else { return }
        machine.throttle.set(percent: 0)
        progress("migration auto-converge: the guest's pace restored (it was slowed by \(converge.percent)%)")
    }

    /// Seconds since the attempt started.
    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}

/// Throws once the run here has ended (a signal, --seconds, --frames, a guest exit): the
/// user stopped this guest, so it is not handed over. Before the commit only. Also throws
/// once a controller cancelled the attempt (`MigrationControl`).
func stillRunning(_ machine: Machine) throws {
    if machine.isFinished { throw MigrationError.stoppedAtSource }
    if MigrationControl.current?.isCancelRequested == true { throw MigrationError.cancelled }
}

extension MigrationError {
    var isOutcomeUnknown: Bool { if case .outcomeUnknown = self { return true }; return false }
}

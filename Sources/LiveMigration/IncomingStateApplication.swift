import Machine
import MigrationWire

/// The destination's state application without a connection, exactly as `DestinationAttempt`
/// applies the stream (through `ArrivingGuest`), and the downtime it reports for a commit:
/// the seam the fuzzers (Fuzz/, Sources/FuzzEntries) and their corpus test drive with any bytes.
public final class IncomingStateApplication {
    private let guest: ArrivingGuest

    /// Applies to `machine` (an incoming machine, not started) what a source sends after the config.
    public init(machine: Machine, verify: Bool) {
        guest = ArrivingGuest(machine: machine, verify: verify, source: "fuzz")
    }

    /// Checks and applies one message of the stream before `ready`; true once it was
    /// `complete` and everything had arrived.
    public func apply(_ m: MigrationMessage) throws(MigrationError) -> Bool {
        try guest.apply(m) == .complete
    }

    /// The downtime the destination reports for a `commit`, `readyToCommitNanos` after it said ready.
    public static func downtimeSeconds(paused: UInt64, sinceReady: UInt64, readyToCommitNanos: UInt64, resumeNanos: UInt64) -> Double {
        let roundTrip = max(0, Double(readyToCommitNanos) - Double(sinceReady))
        return Downtime.seconds(pausedAtCommitNanos: paused, roundTripNanos: roundTrip, resumeNanos: resumeNanos)
    }
}

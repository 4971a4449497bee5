import Foundation
import MigrationWire

/// Why a migration did not complete. `description` is the one line a user sees.
public enum MigrationError: Error, CustomStringConvertible {
    case connectionLost(String)
    /// The source could not reach the destination at all.
    case cannotConnect(String)
    /// The destination could not listen where it was asked to.
    case cannotListen(String)
    case protocolError(String)
    case refused(String)
    case peerAborted(String)
    case verification(String)
    case tracking(String)
    case outcomeUnknown(String)
    /// Source: the connection failed at the commit, and the destination, asked again, said
    /// it did not start the guest (and never will): the guest resumes here.
    case commitLost(String)
    /// Destination: the commit did not arrive after `ready`, and the guest was discarded.
    case commitNotReceived(String)
    /// Pre-copy used its rounds and what is still dirty would not fit the downtime budget:
    /// the guest dirties memory faster than the link sends it.
    case didNotConverge(rounds: Int, pagesLeft: Int, expectedMs: Double, fixedMs: Double, budgetMs: Double, bytesPerSecond: Double)
    /// The run at the source ended (a signal, --seconds, --frames) before the hand-over.
    case stoppedAtSource
    /// TLS was misconfigured here (a file missing or wrong) or the TLS handshake failed.
    case tls(String)
    /// The source did not bind this destination's nonce: a recorded stream replayed, as a rule.
    case replayed(String)
    /// A controller cancelled the attempt (`MigrationControl.cancel`) before the hand-over.
    case cancelled

    public var description: String {
        switch self {
        case .connectionLost(let s): return "connection lost: \(s)"
        case .cannotConnect(let s): return "cannot connect to \(s)"
        case .cannotListen(let s): return "cannot listen on \(s)"
        case .protocolError(let s): return "protocol error: \(s)"
        case .refused(let s): return "refused: \(s)"
        case .peerAborted(let s): return "the other side abandoned the migration: \(s)"
        case .verification(let s): return "verification failed: \(s)"
        case .tracking(let s): return s
        case .outcomeUnknown(let s): return s
        case .commitLost(let s): return "the connection failed at the commit (\(s)), and the destination did not start the guest"
        case .commitNotReceived(let s): return "the source's commit did not arrive: \(s)"
        case .didNotConverge(let rounds, let left, let expected, let fixed, let budget, let rate):
            return String(format: "did not converge in %d rounds: the hand-over of the %d pages still dirty would take %.1f ms (%.1f ms of it fixed, the pages at %.1f MiB/s), over the %.0f ms downtime budget",
                          rounds, left, expected, fixed, rate / 1048576, budget)
        case .stoppedAtSource: return "the guest was stopped at the source before the hand-over"
        case .tls(let s): return "TLS: \(s)"
        case .replayed(let s): return "refused: \(s)"
        case .cancelled: return "cancelled (ringside ctl ... cancel)"
        }
    }
}

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
    /// Pre-copy used its rounds and what is still dirty would not fit the downtime budget:
    /// the guest dirties memory faster than the link sends it.
    case didNotConverge(rounds: Int, pagesLeft: Int, expectedMs: Double, budgetMs: Double, bytesPerSecond: Double)
    /// The run at the source ended (a signal, --seconds, --frames) before the hand-over.
    case stoppedAtSource
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
        case .didNotConverge(let rounds, let left, let expected, let budget, let rate):
            return String(format: "did not converge in %d rounds: %d pages still dirty would take %.0f ms at %.1f MiB/s, over the %.0f ms downtime budget",
                          rounds, left, expected, rate / 1048576, budget)
        case .stoppedAtSource: return "the guest was stopped at the source before the hand-over"
        case .cancelled: return "cancelled (ringside ctl ... cancel)"
        }
    }
}

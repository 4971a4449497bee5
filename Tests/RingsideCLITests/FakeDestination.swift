import Foundation
import MigrationWire
import Synchronization
import TestSupport
import XCTest

/// A destination written with MigrationWire that follows the protocol up to a point and
/// then misbehaves, for what the real one never does.
final class FakeDestination: Sendable {
    enum Ending {
        /// Answers `complete` with an abort, after the source has paused and sent the vCPUs.
        case abortAtComplete(String)
        /// Says ready, takes the commit, then closes without `started`.
        case closeAfterCommit
        /// Answers round 0's end with an abort instead of its acknowledgement, and keeps the
        /// connection open (reading) until the source closes it.
        case abortAtRoundEnd(String)
    }
    private let listener: LoopbackListener
    private let received = Mutex<[String]>([])
    var port: Int { listener.port }
    /// The names of the messages received, in order.
    var seen: [String] { received.withLock { $0 } }

    init(_ ending: Ending) throws {
        listener = try LoopbackListener(connections: 1)
        listener.start { [self] _, fd in
            func reply(_ m: MigrationMessage) -> Bool {
                var out: [UInt8] = []
                MigrationWire.encode(m, into: &out)
                return TCP.sendAll(fd, out)
            }
            while let m = Self.readMessage(fd) {
                if m == .heartbeat { continue }
                received.withLock { $0.append(m.name) }
                switch m {
                case .hello: guard reply(.hello(version: MigrationWire.version, capabilities: 0)) else { return }
                case .config: guard reply(.accepted(stateNanos: 0)) else { return }
                case .roundEnd(let round, let pages):
                    if case .abortAtRoundEnd(let why) = ending { _ = reply(.abort(why)); _ = TCP.readToEnd(fd, timeout: 60); return }
                    guard reply(.roundAck(round: round, pages: pages, loadNanos: 0)) else { return }
                case .complete:
                    switch ending {
                    case .abortAtComplete(let why): _ = reply(.abort(why)); _ = TCP.readToEnd(fd, timeout: 10); return
                    case .closeAfterCommit: guard reply(.ready) else { return }
                    case .abortAtRoundEnd: return
                    }
                case .commit: return
                default: break
                }
            }
        }
    }

    /// One whole message, or nil at the end of the stream or on any error.
    static func readMessage(_ fd: Int32) -> MigrationMessage? {
        guard let header = TCP.readExactly(fd, 4), let length = try? MigrationWire.frameLength(header),
              let body = TCP.readExactly(fd, length) else { return nil }
        return try? MigrationWire.decode(body)
    }

    func wait(timeout: Double = 60) -> Bool { listener.wait(timeout: timeout) }
}

import Foundation
import MigrationWire
import TestSupport
import XCTest

/// A destination written with MigrationWire that follows the protocol up to a point and
/// then misbehaves, for what the real one never does.
final class FakeDestination: @unchecked Sendable {
    enum Ending {
        /// Answers `complete` with an abort, after the source has paused and sent the vCPUs.
        case abortAtComplete(String)
        /// Says ready, takes the commit, then closes without `started`.
        case closeAfterCommit
        /// Answers round 0's end with an abort instead of its acknowledgement, and keeps the
        /// connection open (reading) until the source closes it.
        case abortAtRoundEnd(String)
    }
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _seen: [String] = []
    /// The names of the messages received, in order.
    var seen: [String] { lock.lock(); defer { lock.unlock() }; return _seen }

    init(_ ending: Ending) throws {
        (listener, port) = try TCP.listen()
        let listener = listener
        Thread { [self] in
            defer { close(listener); done.signal() }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            defer { close(fd) }
            func reply(_ m: MigrationMessage) -> Bool {
                var out: [UInt8] = []
                MigrationWire.encode(m, into: &out)
                return TCP.sendAll(fd, out)
            }
            while let m = Self.readMessage(fd) {
                if m == .heartbeat { continue }
                lock.lock(); _seen.append(m.name); lock.unlock()
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
        }.start()
    }

    /// One whole message, or nil at the end of the stream or on any error.
    static func readMessage(_ fd: Int32) -> MigrationMessage? {
        guard let header = TCP.readExactly(fd, 4), let length = try? MigrationWire.frameLength(header),
              let body = TCP.readExactly(fd, length) else { return nil }
        return try? MigrationWire.decode(body)
    }

    func wait(timeout: Double = 60) -> Bool { done.wait(timeout: .now() + timeout) == .success }
}

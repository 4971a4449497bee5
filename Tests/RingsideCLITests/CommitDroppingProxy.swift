import Foundation
import MigrationWire
import Synchronization
import XCTest

/// A proxy on 127.0.0.1 in front of a destination that breaks the first connection at the
/// source's `commit`: either before passing it on (the commit is lost) or just after (the
/// destination's answer is lost). Every later connection (the source asking what became of
/// the guest) goes through untouched. Runs until `stop()`.
final class CommitDroppingProxy: Sendable {
    enum Drop {
        /// The commit never reaches the destination.
        case commit
        /// The commit reaches the destination; nothing it sends after that reaches the source.
        case answerToCommit
    }
    private let listener: LoopbackListener
    private let state = Mutex<(sawCommit: Bool, connections: Int)>((false, 0))
    var port: Int { listener.port }
    /// Whether the source sent a commit on the first connection.
    var sawCommit: Bool { state.withLock { $0.sawCommit } }
    /// Connections accepted so far.
    var connections: Int { state.withLock { $0.connections } }

    init(upstream: Int, drop: Drop) throws {
        listener = try LoopbackListener(concurrently: true)
        listener.start { [self] number, client in
            state.withLock { $0.connections += 1 }
            guard let server = try? TCP.connect(port: upstream) else { return }
            defer { close(server) }
            if number == 0 { forwardBreakingAtCommit(client, server, drop: drop) } else { TCP.relay(client, server, seconds: 120) }
        }
    }

    /// Stops accepting; connections in progress end when their peers close.
    func stop() { listener.stop() }

    /// Both ways, the source's bytes a whole frame at a time, until the source's commit:
    /// then both connections are closed, with the commit passed on or not.
    private func forwardBreakingAtCommit(_ client: Int32, _ server: Int32, drop: Drop) {
        var buf = [UInt8](repeating: 0, count: 65536)
        var pending: [UInt8] = []
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
        let deadline = Date(timeIntervalSinceNow: 120)
        while Date() < deadline {
            guard poll(&fds, 2, 100) >= 0 else { return }
            if fds[1].revents != 0 { // the destination's messages go through untouched
                let n = buf.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
                guard n > 0, TCP.sendAll(client, buf[0..<n]) else { return }
            }
            guard fds[0].revents != 0 else { continue }
            let n = buf.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            pending += buf[0..<n]
            while pending.count >= 5 {
                let length = Int(pending[0]) | Int(pending[1]) << 8 | Int(pending[2]) << 16 | Int(pending[3]) << 24
                guard pending.count >= 4 + length else { break }
                let frame = pending[0..<4 + length]
                let isCommit = length >= 1 && pending[4] == 10 // MigrationWire's type of commit
                if isCommit {
                    state.withLock { $0.sawCommit = true }
                    shutdown(client, Int32(SHUT_RDWR)) // the source hears nothing more on this connection
                    if drop == .answerToCommit {
                        TCP.sendAll(server, frame)
                        shutdown(server, Int32(SHUT_WR)) // the commit arrives, then the end of the stream
                        _ = TCP.readToEnd(server, timeout: 2) // what the destination answers goes nowhere
                    }
                    return // the deferred closes end both connections
                }
                guard TCP.sendAll(server, frame) else { return }
                pending.removeFirst(4 + length)
            }
        }
    }
}

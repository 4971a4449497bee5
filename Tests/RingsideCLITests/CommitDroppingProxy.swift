import Foundation
import MigrationWire
import XCTest

/// A proxy on 127.0.0.1 in front of a destination that breaks the first connection at the
/// source's `commit`: either before passing it on (the commit is lost) or just after (the
/// destination's answer is lost). Every later connection (the source asking what became of
/// the guest) goes through untouched. Runs until `stop()`.
final class CommitDroppingProxy: @unchecked Sendable {
    enum Drop {
        /// The commit never reaches the destination.
        case commit
        /// The commit reaches the destination; nothing it sends after that reaches the source.
        case answerToCommit
    }
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var _sawCommit = false
    private var _connections = 0
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)
    /// Whether the source sent a commit on the first connection.
    var sawCommit: Bool { lock.lock(); defer { lock.unlock() }; return _sawCommit }
    /// Connections accepted so far.
    var connections: Int { lock.lock(); defer { lock.unlock() }; return _connections }

    init(upstream: Int, drop: Drop) throws {
        (listener, port) = try TCP.listen()
        Thread { [self] in
            defer { close(listener); done.signal() }
            var first = true
            while !isStopping {
                var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) >= 0 else { return }
                guard p.revents != 0 else { continue }
                let client = accept(listener, nil, nil)
                guard client >= 0 else { continue }
                lock.lock(); _connections += 1; lock.unlock()
                let isFirst = first
                first = false
                Thread { [self] in
                    defer { close(client) }
                    guard let server = try? TCP.connect(port: upstream) else { return }
                    defer { close(server) }
                    if isFirst { forwardBreakingAtCommit(client, server, drop: drop) } else { forward(client, server) }
                }.start()
            }
        }.start()
    }

    private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

    /// Stops accepting; connections in progress end when their peers close.
    func stop() {
        lock.lock(); stopping = true; lock.unlock()
        _ = done.wait(timeout: .now() + 5)
    }

    deinit { lock.lock(); stopping = true; lock.unlock() }

    /// Both ways until either side closes (or 120 s pass).
    private func forward(_ client: Int32, _ server: Int32) {
        var buf = [UInt8](repeating: 0, count: 65536)
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
        let deadline = Date(timeIntervalSinceNow: 120)
        while Date() < deadline {
            guard poll(&fds, 2, 100) >= 0 else { return }
            for (from, to) in [(0, 1), (1, 0)] where fds[from].revents != 0 {
                let n = buf.withUnsafeMutableBytes { recv(fds[from].fd, $0.baseAddress, $0.count, 0) }
                guard n > 0, TCP.sendAll(fds[to].fd, buf[0..<n]) else { return }
            }
        }
    }

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
                    lock.lock(); _sawCommit = true; lock.unlock()
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

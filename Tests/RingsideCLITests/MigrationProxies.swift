import Foundation
import MigrationWire
import TestSupport
import XCTest

/// A proxy on 127.0.0.1 that forwards one connection to `upstream` and, once it has passed
/// `cutAfter` bytes from the client, closes both sides: a connection cut mid-stream.
final class CuttingProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _forwarded = 0
    private var _cut = false
    /// Client bytes passed upstream, and whether the cut was made (the client sent enough).
    var forwarded: Int { lock.lock(); defer { lock.unlock() }; return _forwarded }
    var cut: Bool { lock.lock(); defer { lock.unlock() }; return _cut }

    init(upstream: Int, cutAfter limit: Int) throws {
        (listener, port) = try TCP.listen()
        let listener = listener
        Thread { [self] in
            defer { close(listener); done.signal() }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            guard let server = try? TCP.connect(port: upstream) else { return }
            defer { close(server) }
            var buf = [UInt8](repeating: 0, count: 65536)
            var passed = 0
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
            let deadline = Date(timeIntervalSinceNow: 60)
            while passed < limit && Date() < deadline {
                guard poll(&fds, 2, 100) >= 0 else { return }
                if fds[1].revents != 0 { // the destination's replies go through untouched
                    let n = buf.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
                    guard n > 0, TCP.sendAll(client, buf[0..<n]) else { return }
                }
                if fds[0].revents != 0 {
                    let n = buf.withUnsafeMutableBytes { recv(client, $0.baseAddress, min($0.count, limit - passed), 0) }
                    guard n > 0, TCP.sendAll(server, buf[0..<n]) else { return }
                    passed += n
                    lock.lock(); _forwarded = passed; lock.unlock()
                }
            }
            lock.lock(); _cut = passed >= limit; lock.unlock()
            // The deferred closes cut both connections here.
        }.start()
    }

    /// Waits for the proxy's one connection to end.
    func wait(timeout: Double = 60) -> Bool { done.wait(timeout: .now() + timeout) == .success }
}

/// A proxy on 127.0.0.1 whose first connection goes to `first` and every later one to `then`.
/// The first stalls once `stallAfter` bytes from the client went through (nothing more is
/// read from the client, so the client's sends block mid-stream), until `first` goes away;
/// then the proxy closes the client's side too: a destination that dies mid-stream, at a
/// point the test chooses rather than one a timer hopes for.
final class FailoverProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var _stalled = false
    /// Whether the first connection has passed `stallAfter` bytes and stalls.
    var stalled: Bool { lock.lock(); defer { lock.unlock() }; return _stalled }

    init(first: Int, then: Int, stallAfter: Int) throws {
        (listener, port) = try TCP.listen()
        let listener = listener
        Thread { [self] in
            defer { close(listener) }
            for (k, upstream) in [first, then].enumerated() {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                let limit = k == 0 ? stallAfter : Int.max
                Thread { self.relay(client, to: upstream, limit: limit) }.start()
            }
        }.start()
    }

    private func relay(_ client: Int32, to upstream: Int, limit: Int) {
        defer { close(client) }
        guard let server = try? TCP.connect(port: upstream) else { return }
        defer { close(server) }
        var buf = [UInt8](repeating: 0, count: 65536)
        var passed = 0
        var fds = [pollfd(fd: server, events: Int16(POLLIN), revents: 0), pollfd(fd: client, events: Int16(POLLIN), revents: 0)]
        let deadline = Date(timeIntervalSinceNow: 600)
        while Date() < deadline {
            fds[1].events = passed < limit ? Int16(POLLIN) : 0 // stalled: leave the client's bytes unread
            guard poll(&fds, 2, 100) >= 0 else { return }
            if fds[0].revents != 0 {
                let n = buf.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
                guard n > 0, TCP.sendAll(client, buf[0..<n]) else { return } // the destination went away
            }
            if fds[1].revents != 0 {
                let n = buf.withUnsafeMutableBytes { recv(client, $0.baseAddress, min($0.count, limit - passed), 0) }
                guard n > 0, TCP.sendAll(server, buf[0..<n]) else { return }
                passed += n
                if passed >= limit { lock.lock(); _stalled = true; lock.unlock() }
            }
        }
    }
}

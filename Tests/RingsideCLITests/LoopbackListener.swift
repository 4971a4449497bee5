import Foundation
import Synchronization
import TestSupport

/// The accept loop the tests' proxies and fake peers share: a listener on 127.0.0.1 that hands
/// each connection it accepts to `serve(number, socket)` and closes the socket when `serve`
/// returns. It accepts `connections` (nil: until `stop()`), then closes the listener.
final class LoopbackListener: Sendable {
    let port: Int
    private let listener: Int32
    private let connections: Int?
    private let concurrently: Bool
    private let stopping = Atomic<Bool>(false)
    private let ended = Latch()

    /// Listens; `start` begins accepting. `concurrently`: each connection is served on a thread
    /// of its own; otherwise on the accept thread, and `wait` returns once the last one has been served.
    init(connections: Int? = nil, concurrently: Bool = false) throws {
        (listener, port) = try TCP.listen()
        self.connections = connections
        self.concurrently = concurrently
    }

    func start(serve: @escaping @Sendable (_ number: Int, _ client: Int32) -> Void) {
        Thread { [self] in
            defer { close(listener); ended.raise() }
            var accepted = 0
            while accepted < connections ?? .max && !stopping.load(ordering: .relaxed) {
                var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                let ready = poll(&p, 1, 100)
                if ready < 0 && errno == EINTR { continue }
                guard ready >= 0 else { return }
                guard p.revents != 0 else { continue }
                let client = accept(listener, nil, nil)
                guard client >= 0 else { continue }
                let number = accepted
                accepted += 1
                if concurrently {
                    Thread { serve(number, client); close(client) }.start()
                } else {
                    serve(number, client)
                    close(client)
                }
            }
        }.start()
    }

    /// Stops accepting (connections being served go on) and waits for the listener to close.
    func stop(timeout: Double = 5) {
        stopping.store(true, ordering: .relaxed)
        _ = ended.wait(timeout: timeout)
    }

    /// Waits until the listener has closed: its connections accepted (and, not `concurrently`, served).
    func wait(timeout: Double) -> Bool { ended.wait(timeout: timeout) }
}

extension TCP {
    /// Copies bytes one way, from `from` to `to`, until `from` ends or `to` fails; `seen` hears
    /// each chunk before it is sent on (what a recording proxy keeps).
    static func pump(from: Int32, to: Int32, seen: (ArraySlice<UInt8>) -> Void = { _ in }) {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            seen(buf[0..<n])
            guard sendAll(to, buf[0..<n]) else { return }
        }
    }

    /// Relays bytes both ways between `client` and `server` until either side closes or
    /// `seconds` pass. Once `limit` bytes from the client went through, it ends there
    /// (`endAtLimit`) or leaves the client's further bytes unread, so its sends block, while the
    /// server's still go through. `passed` hears the client's byte count after each send.
    /// Returns the client's bytes that went through.
    @discardableResult
    static func relay(_ client: Int32, _ server: Int32, seconds: Double, limit: Int = .max, endAtLimit: Bool = false,
                      passed report: (Int) -> Void = { _ in }) -> Int {
        var buf = [UInt8](repeating: 0, count: 65536)
        var passed = 0
        var fds = [pollfd(fd: server, events: Int16(POLLIN), revents: 0), pollfd(fd: client, events: Int16(POLLIN), revents: 0)]
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline && !(endAtLimit && passed >= limit) {
            fds[1].events = passed < limit ? Int16(POLLIN) : 0 // at the limit: leave the client's bytes unread
            guard poll(&fds, 2, 100) >= 0 else { return passed }
            if fds[0].revents != 0 {
                let n = buf.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
                guard n > 0, sendAll(client, buf[0..<n]) else { return passed }
            }
            if fds[1].revents != 0 {
                let n = buf.withUnsafeMutableBytes { recv(client, $0.baseAddress, min($0.count, limit - passed), 0) }
                guard n > 0, sendAll(server, buf[0..<n]) else { return passed }
                passed += n
                report(passed)
            }
        }
        return passed
    }
}

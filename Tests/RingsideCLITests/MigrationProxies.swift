import Foundation
import MigrationWire
import Synchronization
import TestSupport
import XCTest

/// A proxy on 127.0.0.1 that forwards one connection to `upstream` and, once it has passed
/// `cutAfter` bytes from the client, closes both sides: a connection cut mid-stream.
final class CuttingProxy: Sendable {
    private let listener: LoopbackListener
    private let state = Mutex<(forwarded: Int, cut: Bool)>((0, false))
    var port: Int { listener.port }
    /// Client bytes passed upstream, and whether the cut was made (the client sent enough).
    var forwarded: Int { state.withLock { $0.forwarded } }
    var cut: Bool { state.withLock { $0.cut } }

    init(upstream: Int, cutAfter limit: Int) throws {
        listener = try LoopbackListener(connections: 1)
        listener.start { [self] _, client in
            guard let server = try? TCP.connect(port: upstream) else { return }
            defer { close(server) }
            // The destination's replies go through untouched.
            let passed = TCP.relay(client, server, seconds: 60, limit: limit, endAtLimit: true) { n in state.withLock { $0.forwarded = n } }
            state.withLock { $0.cut = passed >= limit }
            // The closes (here and the listener's) cut both connections.
        }
    }

    /// Waits for the proxy's one connection to end.
    func wait(timeout: Double = 60) -> Bool { listener.wait(timeout: timeout) }
}

/// A proxy on 127.0.0.1 whose first connection goes to `first` and every later one to `then`.
/// The first stalls once `stallAfter` bytes from the client went through (nothing more is
/// read from the client, so the client's sends block mid-stream), until `first` goes away;
/// then the proxy closes the client's side too: a destination that dies mid-stream, at a
/// point the test chooses rather than one a timer hopes for.
final class FailoverProxy: Sendable {
    private let listener: LoopbackListener
    private let isStalled = Atomic<Bool>(false)
    var port: Int { listener.port }
    /// Whether the first connection has passed `stallAfter` bytes and stalls.
    var stalled: Bool { isStalled.load(ordering: .relaxed) }

    init(first: Int, then: Int, stallAfter: Int) throws {
        listener = try LoopbackListener(connections: 2, concurrently: true)
        listener.start { [self] number, client in
            let limit = number == 0 ? stallAfter : Int.max
            guard let server = try? TCP.connect(port: number == 0 ? first : then) else { return }
            defer { close(server) }
            TCP.relay(client, server, seconds: 600, limit: limit) { n in if n >= limit { isStalled.store(true, ordering: .relaxed) } }
        }
    }
}

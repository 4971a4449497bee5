import Foundation
import Synchronization
import TestSupport

/// A proxy on 127.0.0.1 that relays one connection to `upstream` untouched and records every
/// byte each way: what an eavesdropper on the link captures, to be replayed into another
/// `ringside receive` (`replay`).
final class RecordingProxy: Sendable {
    private let listener: LoopbackListener
    private let recorded = Mutex<(fromClient: [UInt8], fromServer: [UInt8])>(([], []))
    var port: Int { listener.port }
    /// The client's bytes (the source's stream), as they went over.
    var fromClient: [UInt8] { recorded.withLock { $0.fromClient } }
    /// The server's bytes (the destination's replies).
    var fromServer: [UInt8] { recorded.withLock { $0.fromServer } }

    init(upstream: Int) throws {
        listener = try LoopbackListener(connections: 1)
        listener.start { [self] _, client in
            guard let server = try? TCP.connect(port: upstream) else { return }
            let back = DispatchSemaphore(value: 0)
            Thread {
                self.relay(from: server, to: client, toClient: true)
                shutdown(client, Int32(SHUT_WR))
                back.signal()
            }.start()
            relay(from: client, to: server, toClient: false)
            shutdown(server, Int32(SHUT_WR))
            if back.wait(timeout: .now() + 60) == .timedOut { shutdown(server, Int32(SHUT_RDWR)); back.wait() }
            close(server) // the listener closes the client's socket
        }
    }

    private func relay(from: Int32, to: Int32, toClient: Bool) {
        TCP.pump(from: from, to: to) { chunk in
            recorded.withLock { if toClient { $0.fromServer += chunk } else { $0.fromClient += chunk } }
        }
    }

    /// Waits for the relayed connection to end.
    func wait(timeout: Double = 120) -> Bool { listener.wait(timeout: timeout) }

    /// Sends `bytes` to 127.0.0.1:`port` as a source would (all of them, as fast as the other
    /// side reads) and returns everything that side sent back before it closed.
    static func replay(_ bytes: [UInt8], to port: Int, timeout: Double = 60) throws -> [UInt8] {
        let fd = try TCP.connect(port: port)
        defer { close(fd) }
        let sent = DispatchSemaphore(value: 0)
        Thread {
            TCP.sendAll(fd, bytes) // fails once the destination has closed: that is the point
            sent.signal()
        }.start()
        let answer = TCP.readToEnd(fd, timeout: timeout)
        shutdown(fd, Int32(SHUT_RDWR))
        sent.wait()
        return answer
    }
}

import Foundation
import MigrationWire
import Synchronization
import TestSupport

/// A proxy on 127.0.0.1 for one migration connection that reads the source's side frame by
/// frame: it records each frame's type and the source's hello, and may rewrite the first
/// `compressed-pages` frame (`tamper`) or the hellos' capabilities (`oldDestination`: the
/// destination's 0, as a protocol 4 build from before compression sends, and the source's
/// nonce bit cleared, so the destination sends no `challenge` such a build would not send).
/// The destination's side is otherwise relayed as it is.
final class FrameTapProxy: Sendable {
    private let listener: LoopbackListener
    private let seen = Mutex<(types: [UInt8], sourceHello: [UInt8])>(([], []))
    var port: Int { listener.port }
    /// The type byte of every frame the source sent, in order (heartbeats included).
    var types: [UInt8] { seen.withLock { $0.types } }
    /// The source's hello frame, as it was sent.
    var sourceHello: [UInt8] { seen.withLock { $0.sourceHello } }

    init(upstream: Int, oldDestination: Bool = false, tamper: (@Sendable ([UInt8]) -> [UInt8])? = nil) throws {
        listener = try LoopbackListener(connections: 1)
        listener.start { [self] _, client in
            guard let server = try? TCP.connect(port: upstream) else { return }
            let backDone = DispatchSemaphore(value: 0)
            Thread {
                Self.relayBack(from: server, to: client, zeroCapabilities: oldDestination)
                shutdown(client, Int32(SHUT_RDWR))
                backDone.signal()
            }.start()
            forward(from: client, to: server, tamper: tamper, clearNonceBit: oldDestination)
            // The destination's last words (an abort, as a rule) reach the source before its side closes.
            shutdown(server, Int32(SHUT_WR))
            if backDone.wait(timeout: .now() + 60) == .timedOut { shutdown(server, Int32(SHUT_RDWR)); backDone.wait() }
            shutdown(client, Int32(SHUT_RDWR))
            close(server) // the listener closes the client's socket
        }
    }

    /// Frames from the source, recorded, the first compressed one through `tamper`.
    private func forward(from client: Int32, to server: Int32, tamper: (([UInt8]) -> [UInt8])?, clearNonceBit: Bool) {
        var tampered = false
        while let frame = Self.readFrame(client) {
            seen.withLock { $0.types.append(frame[4]); if frame[4] == 1 { $0.sourceHello = frame } }
            var out = frame
            if frame[4] == 1 && clearNonceBit && out.count == 16 { out[12] &= ~UInt8(MigrationWire.capabilityBindsNonce) }
            if frame[4] == 19, !tampered, let tamper { out = tamper(frame); tampered = true }
            guard TCP.sendAll(server, out) else { return }
        }
    }

    /// The destination's bytes back; its hello (the first 16 bytes) with capabilities 0 if asked.
    private static func relayBack(from server: Int32, to client: Int32, zeroCapabilities: Bool) {
        if zeroCapabilities {
            guard var hello = TCP.readExactly(server, 16) else { return }
            hello.replaceSubrange(12..<16, with: [0, 0, 0, 0])
            guard TCP.sendAll(client, hello) else { return }
        }
        TCP.pump(from: server, to: client)
    }

    /// One whole frame, its length included.
    static func readFrame(_ fd: Int32) -> [UInt8]? {
        guard let header = TCP.readExactly(fd, 4) else { return nil }
        let n = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
        guard n >= 1, n <= MigrationWire.maxConfigFrameBytes, let body = TCP.readExactly(fd, n) else { return nil }
        return header + body
    }

    func wait(timeout: Double = 120) -> Bool { listener.wait(timeout: timeout) }
}

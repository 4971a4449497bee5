#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import RFB
import Synchronization
import Testing

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now = Mutex<Double>(1000)
    func read() -> Double { now.withLock { $0 } }
    func advance(_ s: Double) { now.withLock { $0 += s } }
}

/// A test client socket from a chosen loopback address (127.0.0.2 is another client to the server).
final class AddressedSocket {
    let fd: Int32
    init(port: Int, source: String) {
        fd = Socket.connected(port: port, source: source)
    }
    deinit { close(fd) }
    func send(_ b: [UInt8]) { Socket.send(fd, b) }
    func read(_ n: Int, timeout: Double = 60) -> [UInt8]? { Socket.read(fd, n, timeout: timeout) }
    /// Whether the server closes the connection within 60 s (what it sends first is read and dropped).
    func closedByServer() -> Bool {
        let end = Date(timeIntervalSinceNow: 60)
        var buf = [UInt8](repeating: 0, count: 4096)
        while end.timeIntervalSinceNow > 0 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 100) <= 0 { continue }
            if buf.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) <= 0 { return true }
        }
        return false
    }

    /// Version 3.8, then: the offered security types, or the reason for none.
    func offer() -> (types: [UInt8], reason: String?)? {
        guard read(12) != nil else { return nil }
        send(Array("RFB 003.008\n".utf8))
        guard let n = read(1) else { return nil }
        if n[0] > 0 { return read(Int(n[0])).map { ($0, nil) } }
        guard let l = read(4) else { return nil }
        return read(Int(l[0]) << 24 | Int(l[1]) << 16 | Int(l[2]) << 8 | Int(l[3])).map { ([], String(decoding: $0, as: UTF8.self)) }
    }

    /// After `offer` offered VNC Authentication: answers the challenge with `password`;
    /// the SecurityResult (0: OK).
    func authenticate(_ password: String) -> UInt32? {
        send([2])
        guard let challenge = read(16) else { return nil }
        send(VNCAuthentication.response(challenge: challenge, password: Array(password.utf8))!)
        return read(4).map { UInt32($0[0]) << 24 | UInt32($0[1]) << 16 | UInt32($0[2]) << 8 | UInt32($0[3]) }
    }

    /// A whole handshake with security None; ClientInit with `shared`.
    func joinWithoutPassword(shared: Bool) -> Bool {
        guard offer()?.types == [1] else { return false }
        send([1])
        guard read(4) == [0, 0, 0, 0] else { return false }
        send([shared ? 1 : 0])
        guard let head = read(24) else { return false }
        return read(Int(head[20]) << 24 | Int(head[21]) << 16 | Int(head[22]) << 8 | Int(head[23])) != nil
    }
}

/// Polls `condition` until it holds or 60 s have passed (a bound on the wait, not a speed).
func eventually(_ condition: () -> Bool) -> Bool {
    let end = Date(timeIntervalSinceNow: 60)
    while !condition() {
        if Date() > end { return false }
        usleep(5000)
    }
    return true
}


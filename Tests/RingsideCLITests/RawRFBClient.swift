#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RFB

/// A bare RFB client over a blocking TCP socket, for tests that must send what no real
/// client sends (malformed messages, floods) or count updates exactly.
final class RawRFBClient: Sendable {
    let fd: Int32
    struct Closed: Error {}

    /// Connects to `host:port`; from the local address `source` when given (another
    /// loopback address, such as 127.0.0.2, is another client address to the server).
    init(port: Int, host: String = "127.0.0.1", source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let b = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if b != 0 { close(fd); throw Closed() }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 { close(fd); throw Closed() }
    }

    deinit { close(fd) }

    /// Sets the kernel's receive buffer (before reading nothing, to stall sooner).
    func setReceiveBuffer(_ bytes: Int32) {
        var b = bytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Sends all of `bytes`; false once the server has closed the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Reads exactly `n` bytes within `timeout` seconds.
    func read(_ n: Int, timeout: Double = 60) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        let deadline = Date(timeIntervalSinceNow: timeout)
        while got < n {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            if poll(&p, 1, ms) <= 0 { throw Closed() }
            let r = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if r <= 0 { throw Closed() }
            got += r
        }
        return out
    }

    /// Reads what has arrived, at most `max` bytes, waiting at most `timeout` seconds for
    /// the first: the count read (0 if nothing came), or nil once the server closed.
    func readSome(max: Int, timeout: Double) -> Int? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, Int32(timeout * 1000)) <= 0 { return 0 }
        var buf = [UInt8](repeating: 0, count: max)
        let r = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return r <= 0 ? nil : r
    }

    /// The server's greeting, then version 3.8 sent: the security types it offers, or the
    /// reason it gave for refusing the connection (no types, then a reason string).
    func securityTypesOrRefusal() throws -> (types: [UInt8], refusal: String?) {
        _ = try read(12)
        send(Array("RFB 003.008\n".utf8))
        let count = Int(try read(1)[0])
        if count > 0 { return (try read(count), nil) }
        let n = try read(4)
        let length = Int(n[0]) << 24 | Int(n[1]) << 16 | Int(n[2]) << 8 | Int(n[3])
        return ([], String(decoding: try read(length), as: UTF8.self))
    }

    /// Whether the server closed the connection within `timeout` seconds (reading and
    /// discarding whatever it sent before).
    func closedByServer(timeout: Double = 60) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var buf = [UInt8](repeating: 0, count: 65536)
        while deadline.timeIntervalSinceNow > 0 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) <= 0 { continue }
            let r = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if r <= 0 { return true }
        }
        return false
    }

    /// RFB 3.8 handshake with security None or VNC Authentication; returns (width, height).
    func handshake(password: String? = nil, shared: Bool = true) throws -> (Int, Int) {
        _ = try read(12)
        send(Array("RFB 003.008\n".utf8))
        let count = try read(1)[0]
        let types = try read(Int(count))
        let type: UInt8 = password == nil ? 1 : 2
        guard types.contains(type) else { throw Closed() }
        send([type])
        if let password {
            let challenge = try read(16)
            send(VNCAuthentication.response(challenge: challenge, password: Array(password.utf8))!)
        }
        let result = try read(4)
        guard result == [0, 0, 0, 0] else { throw Closed() }
        send([shared ? 1 : 0])
        let head = try read(24)
        let nameLength = Int(head[20]) << 24 | Int(head[21]) << 16 | Int(head[22]) << 8 | Int(head[23])
        _ = try read(nameLength)
        return (Int(head[0]) << 8 | Int(head[1]), Int(head[2]) << 8 | Int(head[3]))
    }

    func requestUpdate(incremental: Bool, x: Int = 0, y: Int = 0, width: Int, height: Int) {
        send([3, incremental ? 1 : 0, UInt8(x >> 8), UInt8(x & 0xFF), UInt8(y >> 8), UInt8(y & 0xFF),
              UInt8(width >> 8), UInt8(width & 0xFF), UInt8(height >> 8), UInt8(height & 0xFF)])
    }

    /// Reads one FramebufferUpdate of Raw rectangles at 32 bpp; returns its rectangles.
    func readRawUpdate(timeout: Double = 60) throws -> [(x: Int, y: Int, w: Int, h: Int)] {
        let head = try read(4, timeout: timeout)
        guard head[0] == 0 else { throw Closed() }
        let n = Int(head[2]) << 8 | Int(head[3])
        var rects: [(Int, Int, Int, Int)] = []
        for _ in 0..<n {
            let r = try read(12, timeout: timeout)
            let x = Int(r[0]) << 8 | Int(r[1]), y = Int(r[2]) << 8 | Int(r[3])
            let w = Int(r[4]) << 8 | Int(r[5]), h = Int(r[6]) << 8 | Int(r[7])
            guard r[8...11] == [0, 0, 0, 0] else { throw Closed() } // Raw
            _ = try read(w * h * 4, timeout: timeout)
            rects.append((x, y, w, h))
        }
        return rects
    }
    /// SetEncodings with `encodings` (RFB numbers; pseudo-encodings are negative).
    func setEncodings(_ encodings: [Int32]) {
        var m: [UInt8] = [2, 0, UInt8(encodings.count >> 8), UInt8(encodings.count & 0xFF)]
        for e in encodings { let u = UInt32(bitPattern: e); m += [UInt8(u >> 24), UInt8(u >> 16 & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u & 0xFF)] }
        send(m)
    }

    /// One rectangle of an update: its place, encoding and (for Raw at 32 bpp) pixels.
    struct Rect {
        var x: Int, y: Int, w: Int, h: Int
        var encoding: Int32
        var pixels: [UInt32]
        /// An ExtendedDesktopSize rectangle's data: its screen count, padding and screens.
        var layout: [UInt8] = []
    }

    /// Reads one FramebufferUpdate of Raw (32 bpp, little-endian), DesktopSize,
    /// ExtendedDesktopSize and QEMU Extended Key Event rectangles.
    func readUpdate(timeout: Double = 60) throws -> [Rect] {
        let head = try read(4, timeout: timeout)
        guard head[0] == 0 else { throw Closed() }
        return try readRects(Int(head[2]) << 8 | Int(head[3]), timeout: timeout)
    }

    /// The `n` rectangles of a FramebufferUpdate whose header was read.
    func readRects(_ n: Int, timeout: Double) throws -> [Rect] {
        var rects: [Rect] = []
        for _ in 0..<n {
            let r = try read(12, timeout: timeout)
            let x = Int(r[0]) << 8 | Int(r[1]), y = Int(r[2]) << 8 | Int(r[3])
            let w = Int(r[4]) << 8 | Int(r[5]), h = Int(r[6]) << 8 | Int(r[7])
            let encoding = Int32(bitPattern: UInt32(r[8]) << 24 | UInt32(r[9]) << 16 | UInt32(r[10]) << 8 | UInt32(r[11]))
            var pixels: [UInt32] = [], layout: [UInt8] = []
            if encoding == -308 { // ExtendedDesktopSize: reason, status, size, then the screens
                layout = try read(4, timeout: timeout)
                layout += try read(16 * Int(layout[0]), timeout: timeout)
            } else if encoding == 0 {
                let bytes = try read(w * h * 4, timeout: timeout)
                pixels.reserveCapacity(w * h)
                for i in stride(from: 0, to: bytes.count, by: 4) {
                    pixels.append(UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16)
                }
            } else if encoding != -223 && encoding != -258 { // DesktopSize, QEMU Extended Key Event: no pixels
                throw Closed()
            }
            rects.append(Rect(x: x, y: y, w: w, h: h, encoding: encoding, pixels: pixels, layout: layout))
        }
        return rects
    }
}


import Foundation
import MigrationWire
import TestSupport
import XCTest

/// Plain blocking TCP over loopback, for streams no Ringside would send.
enum TCP {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ what: String) { description = "\(what) failed: \(String(cString: strerror(errno)))" }
    }

    static func address(_ host: String, _ port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &a.sin_addr)
        return a
    }

    static func connect(_ host: String = "127.0.0.1", port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var a = address(host, port)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { let f = Failure("connect to \(host):\(port)"); close(fd); throw f }
        return fd
    }

    /// A listening socket on 127.0.0.1 and its port.
    static func listen() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var a = address("127.0.0.1", 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, len) == 0 && Glibc.listen(fd, 4) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { let f = Failure("bind/listen"); close(fd); throw f }
        return (fd, Int(UInt16(bigEndian: a.sin_port)))
    }

    /// A port on 127.0.0.1 that refuses connections and that nothing else can take while `fd`
    /// is open: bound, never listening. (Closing a listener and hoping its port stays free
    /// races every other process on the host that wants an ephemeral port.)
    static func refusingPort() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var a = address("127.0.0.1", 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { let f = Failure("bind"); close(fd); throw f }
        return (fd, Int(UInt16(bigEndian: a.sin_port)))
    }

    /// Sends every byte (no SIGPIPE if the peer has gone); false if the peer went away first.
    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
        let data = Array(bytes)
        var at = 0
        while at < data.count {
            let n = data[at...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            at += n
        }
        return true
    }

    /// Exactly `n` bytes (blocking), or nil at the end of the stream or on an error.
    static func readExactly(_ fd: Int32, _ n: Int) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: n)
        var at = 0
        while at < n {
            let r = buf[at...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { return nil }
            at += r
        }
        return buf
    }

    /// Whether the kernel holds an established connection to local port `port` (one a
    /// client made, even to a server that has not accepted it yet).
    static func established(toPort port: Int) -> Bool {
        let hex = String(format: ":%04X", port)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = procText(table)
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                if f.count > 3, f[1].hasSuffix(hex), f[3] == "01" { return true }
            }
        }
        return false
    }

    /// Everything the peer sends until it closes (or `timeout` seconds pass).
    static func readToEnd(_ fd: Int32, timeout: Double = 30) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) >= 0 else { break }
            guard p.revents != 0 else { continue }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            out += buf[0..<n]
        }
        return out
    }
}

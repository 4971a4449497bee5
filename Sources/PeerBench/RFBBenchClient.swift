#if canImport(Glibc)
import Glibc
#endif
internal import CPeerBench
import Foundation

/// The benchmark's VNC client: one RFB 3.8 connection (security None) that asks for
/// 32 bpp, depth 24, little-endian pixels with red at bit 16 (the guest's XRGB8888), one
/// encoding, and decodes every update into its own framebuffer, so that the picture it
/// holds after an update can be compared with the guest's frames. The same client talks to
/// Ringside's server and to QEMU's. Per-pixel work is in C (CPeerBench).
/// Not `Sendable`: one thread uses it (`BusyClient` keeps one behind a lock).
final class RFBBenchClient {
    enum Encoding: String, CaseIterable, Sendable {
        case raw = "Raw", zrle = "ZRLE", tight = "Tight"
        /// Tight with JPEG at quality level 5 (lossy: pictures are not compared).
        case tightJPEG = "Tight+JPEG"

        var wire: [Int32] {
            switch self {
            case .raw: return [0]
            case .zrle: return [16]
            case .tight: return [7]
            case .tightJPEG: return [7, -32 + 5]
            }
        }
        var lossless: Bool { self != .tightJPEG }
    }

    struct Failed: Error, CustomStringConvertible { let description: String }

    /// One FramebufferUpdate as it arrived.
    struct Update {
        var firstByteNanos: UInt64
        var lastByteNanos: UInt64
        var bytes: Int
        var rectangles: Int
    }

    private(set) var width = 0
    private(set) var height = 0
    private(set) var framebuffer: [UInt32] = []
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var start = 0, end = 0
    private var consumed = 0
    private var lastRecvNanos: UInt64 = 0
    private let zrle: OpaquePointer
    private let tight: [OpaquePointer]

    init(host: String, port: Int, encoding: Encoding, seconds: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failed(description: "socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        zrle = cpb_inflater_new()
        tight = (0..<4).map { _ in cpb_inflater_new() }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0 else { close(fd); throw Failed(description: "cannot connect to \(host):\(port) (errno \(errno))") }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        let version = try take(12, deadline)
        guard version.starts(with: Array("RFB 003.".utf8)) else { throw Failed(description: "not an RFB server") }
        send(Array("RFB 003.008\n".utf8))
        let count = Int(try take(1, deadline)[0])
        guard count > 0, try take(count, deadline).contains(1) else { throw Failed(description: "the server offers no security type None") }
        send([1])
        guard try u32(try take(4, deadline), 0) == 0 else { throw Failed(description: "security handshake failed") }
        send([1]) // shared
        let initMessage = try take(24, deadline)
        width = Int(try u16(initMessage, 0))
        height = Int(try u16(initMessage, 2))
        _ = try take(Int(try u32(initMessage, 20)), deadline) // the desktop's name
        framebuffer = [UInt32](repeating: 0, count: width * height)
        send([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0])
        var encodings: [UInt8] = [2, 0, 0, UInt8(encoding.wire.count)]
        for e in encoding.wire { encodings += withUnsafeBytes(of: UInt32(bitPattern: e).bigEndian, Array.init) }
        send(encodings)
    }

    deinit {
        close(fd)
        cpb_inflater_free(zrle)
        for t in tight { cpb_inflater_free(t) }
    }

    /// FramebufferUpdateRequest for the whole screen.
    func request(incremental: Bool) {
        send([3, incremental ? 1 : 0, 0, 0, 0, 0, UInt8(width >> 8), UInt8(width & 255), UInt8(height >> 8), UInt8(height & 255)])
    }

    /// Reads messages until a FramebufferUpdate has been read whole and decoded; nil when
    /// `deadline` (uptime ns) passes first.
    func readUpdate(deadline: UInt64) throws -> Update? {
        while true {
            guard try fill(1, deadline) else { return nil }
            let first = lastRecvNanos
            consumed = 0
            let type = try take(1, deadline)[0]
            switch type {
            case 0:
                let header = try take(3, deadline)
                let rects = Int(try u16(header, 1))
                for _ in 0..<rects { try rectangle(deadline) }
                return Update(firstByteNanos: first, lastByteNanos: lastRecvNanos, bytes: consumed, rectangles: rects)
            case 1:
                let h = try take(5, deadline)
                _ = try take(Int(try u16(h, 3)) * 6, deadline)
            case 2:
                break
            case 3:
                let h = try take(7, deadline)
                _ = try take(Int(try u32(h, 3)), deadline)
            default:
                throw Failed(description: "unexpected server message \(type)")
            }
        }
    }

    /// The hash of the picture the client holds (bits 24...31 ignored).
    var pictureHash: UInt64 { framebuffer.withUnsafeBufferPointer { cpb_hash($0.baseAddress, Int32(width), Int32(width), Int32(height)) } }

    // MARK: - rectangles

    private func rectangle(_ deadline: UInt64) throws {
        let h = try take(12, deadline)
        let x = Int(try u16(h, 0)), y = Int(try u16(h, 2)), w = Int(try u16(h, 4)), hh = Int(try u16(h, 6))
        let encoding = Int32(bitPattern: try u32(h, 8))
        if encoding == -223 { throw Failed(description: "the server resized the screen") }
        guard x + w <= width, y + hh <= height else { throw Failed(description: "rectangle \(w)x\(hh)+\(x)+\(y) outside the screen") }
        switch encoding {
        case 0:
            let bytes = try take(w * hh * 4, deadline)
            framebuffer.withUnsafeMutableBufferPointer { fb in
                bytes.withUnsafeBytes { src in
                    for r in 0..<hh {
                        // SAFETY: row r of the rectangle lies inside both buffers (checked above).
                        memcpy(fb.baseAddress! + (y + r) * width + x, src.baseAddress! + r * w * 4, w * 4)
                    }
                }
            }
        case 16:
            let length = Int(try u32(try take(4, deadline), 0))
            let data = try take(length, deadline)
            let ok = data.withUnsafeBufferPointer { z in
                framebuffer.withUnsafeMutableBufferPointer { fb in
                    cpb_zrle(zrle, z.baseAddress, z.count, fb.baseAddress, Int32(width), Int32(x), Int32(y), Int32(w), Int32(hh))
                }
            }
            guard ok == 0 else { throw Failed(description: "bad ZRLE data") }
        case 7:
            try tightRectangle(x, y, w, hh, deadline)
        default:
            throw Failed(description: "unexpected encoding \(encoding)")
        }
    }

    private func tightRectangle(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ deadline: UInt64) throws {
        let control = Int(try take(1, deadline)[0])
        for i in 0..<4 where control & (1 << i) != 0 { cpb_inflater_reset(tight[i]) }
        let kind = control >> 4
        if kind == 8 { // fill
            let p = try take(3, deadline)
            framebuffer.withUnsafeMutableBufferPointer { cpb_fill($0.baseAddress, Int32(width), Int32(x), Int32(y), Int32(w), Int32(h), UInt32(p[0]) << 16 | UInt32(p[1]) << 8 | UInt32(p[2])) }
            return
        }
        if kind == 9 { // JPEG: lossy, kept out of the picture comparison; only its bytes are read
            _ = try take(try compactLength(deadline), deadline)
            return
        }
        guard kind & 8 == 0 else { throw Failed(description: "bad Tight control byte \(control)") }
        let filter = kind & 4 != 0 ? Int(try take(1, deadline)[0]) : 0
        var palette: [UInt32] = []
        if filter == 1 {
            let colors = Int(try take(1, deadline)[0]) + 1
            let p = try take(colors * 3, deadline)
            palette = (0..<colors).map { UInt32(p[$0 * 3]) << 16 | UInt32(p[$0 * 3 + 1]) << 8 | UInt32(p[$0 * 3 + 2]) }
        }
        let size = filter == 1 ? (palette.count <= 2 ? (w + 7) / 8 * h : w * h) : w * h * 3
        var data: [UInt8]
        if size < 12 {
            data = try take(size, deadline)
        } else {
            let compressed = try take(try compactLength(deadline), deadline)
            data = [UInt8](repeating: 0, count: size)
            let n = compressed.withUnsafeBufferPointer { z in data.withUnsafeMutableBufferPointer { cpb_inflate(tight[kind & 3], z.baseAddress, z.count, $0.baseAddress, $0.count) } }
            guard n == size else { throw Failed(description: "a Tight zlib stream gave \(n) bytes, not \(size)") }
        }
        let ok = data.withUnsafeBufferPointer { d in
            palette.withUnsafeBufferPointer { pal in
                framebuffer.withUnsafeMutableBufferPointer { fb in
                    cpb_tight_basic(Int32(filter), d.baseAddress, d.count, pal.baseAddress, Int32(pal.count), fb.baseAddress, Int32(width), Int32(x), Int32(y), Int32(w), Int32(h))
                }
            }
        }
        guard ok == 0 else { throw Failed(description: "bad Tight data (filter \(filter))") }
    }

    private func compactLength(_ deadline: UInt64) throws -> Int {
        var b = Int(try take(1, deadline)[0])
        var length = b & 0x7F
        if b & 0x80 != 0 {
            b = Int(try take(1, deadline)[0])
            length |= (b & 0x7F) << 7
            if b & 0x80 != 0 { length |= Int(try take(1, deadline)[0]) << 14 }
        }
        return length
    }

    // MARK: - socket

    private func send(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    /// Makes at least `n` bytes available; false when `deadline` passes first.
    private func fill(_ n: Int, _ deadline: UInt64) throws -> Bool {
        if end - start >= n { return true }
        if start > 0 {
            buffer.withUnsafeMutableBytes { b in _ = memmove(b.baseAddress!, b.baseAddress! + start, end - start) }
            end -= start
            start = 0
        }
        if buffer.count < n { buffer += [UInt8](repeating: 0, count: n - buffer.count) }
        while end < n {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min((deadline - now) / 1_000_000 + 1, 1000)))
            if ready < 0 && errno != EINTR { throw Failed(description: "poll: errno \(errno)") }
            guard ready > 0 else { continue }
            let k = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + end, $0.count - end, 0) }
            if k < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard k > 0 else { throw Failed(description: "the server closed the connection") }
            lastRecvNanos = DispatchTime.now().uptimeNanoseconds
            end += k
        }
        return true
    }

    private func take(_ n: Int, _ deadline: UInt64) throws -> [UInt8] {
        guard n > 0 else { return [] }
        guard try fill(n, deadline) else { throw Failed(description: "the server sent too little before the deadline") }
        defer { start += n; consumed += n }
        return Array(buffer[start..<start + n])
    }

    private func u16(_ b: [UInt8], _ i: Int) throws -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
    private func u32(_ b: [UInt8], _ i: Int) throws -> UInt32 { UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]) }
}

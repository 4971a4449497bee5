#if canImport(Glibc)
import Glibc
#endif
import Display
import Foundation
@testable import RFB
import Testing

extension Socket {
    /// Exactly one FramebufferUpdate's bytes (any encoding this server sends, parsed by its
    /// structure: no waiting for quiet), each read within `timeout`; nil if it did not come.
    func updateBytes(format: PixelFormat, timeout: Double = 10) -> [UInt8]? {
        guard var out = read(4, timeout: timeout), out[0] == 0 else { return nil }
        func more(_ n: Int) -> [UInt8]? {
            guard let b = read(n, timeout: timeout) else { return nil }
            out += b
            return b
        }
        func compact() -> Int? {
            guard let a = more(1) else { return nil }
            var n = Int(a[0] & 0x7F)
            if a[0] & 0x80 == 0 { return n }
            guard let b = more(1) else { return nil }
            n |= Int(b[0] & 0x7F) << 7
            if b[0] & 0x80 == 0 { return n }
            guard let c = more(1) else { return nil }
            return n | Int(c[0]) << 14
        }
        let tsize = format.bitsPerPixel == 32 && format.depth == 24 ? 3 : format.bytesPerPixel
        let count = Int(out[2]) << 8 | Int(out[3])
        var i = 0
        while count == 0xFFFF || i < count {
            i += 1
            guard let h = more(12) else { return nil }
            let w = Int(h[4]) << 8 | Int(h[5]), hh = Int(h[6]) << 8 | Int(h[7])
            let e = Int32(bitPattern: UInt32(h[8]) << 24 | UInt32(h[9]) << 16 | UInt32(h[10]) << 8 | UInt32(h[11]))
            switch e {
            case EncodingType.lastRect: return out
            case EncodingType.desktopSize: continue
            case EncodingType.raw: guard more(w * hh * format.bytesPerPixel) != nil else { return nil }
            case EncodingType.zrle:
                guard let l = more(4), more(Int(l[0]) << 24 | Int(l[1]) << 16 | Int(l[2]) << 8 | Int(l[3])) != nil else { return nil }
            case EncodingType.tight:
                guard let c = more(1)?[0] else { return nil }
                if c >> 4 == 8 { guard more(tsize) != nil else { return nil }; continue }
                if c >> 4 == 9 { guard let n = compact(), more(n) != nil else { return nil }; continue }
                var size = w * hh * tsize
                if c & 0x40 != 0 {
                    guard more(1) != nil, let n = more(1).map({ Int($0[0]) + 1 }), more(n * tsize) != nil else { return nil }
                    size = n == 2 ? (w + 7) / 8 * hh : w * hh
                }
                if size < 12 { guard more(size) != nil else { return nil }; continue }
                guard let n = compact(), more(n) != nil else { return nil }
            default: return nil
            }
        }
        return out
    }

    /// Sends SetPixelFormat.
    func setPixelFormat(_ f: PixelFormat) { send([0, 0, 0, 0] + f.bytes) }
}

@Suite("RFB server: one surface for every client", .serialized)
struct SurfaceServerTests {
    /// Connects a client and reads to the end of ServerInit.
    func connect(_ server: RFBServer, receiveBuffer: Int32? = nil) throws -> Socket {
        try Socket.pastServerInit(server, receiveBuffer: receiveBuffer)
    }

    func serve(_ source: MemorySource) throws -> RFBServer {
        var o = RFBServerOptions()
        o.port = 0
        return try RFBServer(source: source, options: o, input: nil, log: { _ in })
    }

    func wrongPixels(_ d: TestDecoder, _ source: MemorySource, _ t: PixelTranslator) -> Int {
        var wrong = 0
        for y in 0..<source.geometry.height { for x in 0..<source.geometry.width where d.pixels[y * d.width + x] != t.value(source.pixel(x: x, y: y)) { wrong += 1 } }
        return wrong
    }

    @Test("clients in different pixel formats and encodings share one surface: each exact, the repaint copied once for all")
    func formatsShareOneSurface() throws {
        let (w, h) = (256, 160)
        let source = MemorySource(width: w, height: h)
        source.paint(RFBRect(x: 0, y: 0, width: w, height: h)) { x, y in smooth(x, y) }
        let server = try serve(source)
        defer { server.stop() }
        let kinds: [(PixelFormat, [Int32])] = [(.guestNative, [EncodingType.raw]), (formats[4].1, [EncodingType.zrle]),
                                               (formats[6].1, [EncodingType.tight, EncodingType.lastRect]), (formats[1].1, [EncodingType.tight])]
        var clients: [(Socket, TestDecoder, PixelTranslator)] = []
        for (format, encodings) in kinds {
            let s = try connect(server)
            s.setPixelFormat(format)
            s.setEncodings(encodings)
            s.send([3, 0, 0, 0, 0, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF)])
            let d = TestDecoder(format: format, width: w, height: h)
            try d.decode(try #require(s.updateBytes(format: format)))
            clients.append((s, d, PixelTranslator(format: format)))
        }
        for i in 0..<4 {
            for (s, _, _) in clients { s.send([3, 1, 0, 0, 0, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF)]) }
            let copied = server.surface.statistics.bytesCopiedUnderLock
            source.paint(RFBRect(x: 10 + i * 50, y: 5 + i * 30, width: 40, height: 20)) { x, y in smooth(x, y, phase: 17 * (i + 1)) }
            for (n, (s, d, t)) in clients.enumerated() {
                try d.decode(try #require(s.updateBytes(format: kinds[n].0), "client \(n) got update \(i)"))
                #expect(wrongPixels(d, source, t) == 0, "client \(n) after repaint \(i)")
            }
            // 40x20 at x 10 + 50i spans one or two 64-pixel tile columns and two or three 16-row bands.
            #expect(server.surface.statistics.bytesCopiedUnderLock - copied <= 2 * 3 * 64 * 16 * 4, "the repaint was copied once, not per client")
        }
        #expect(server.surface.statistics.framesAllocated <= 3)
        #expect(server.clientCount == kinds.count)
    }

    @Test("a long update goes out in slices: a client that reads nothing holds a few MiB queued, not the 16 MB frame; then it ends exact")
    func longUpdateInSlices() throws {
        let (w, h) = (2560, 1600)
        let source = MemorySource(width: w, height: h)
        source.paint(RFBRect(x: 100, y: 100, width: 300, height: 200), 0x0011_2233)
        let server = try serve(source)
        defer { server.stop() }
        let s = try connect(server, receiveBuffer: 64 << 10)
        let handshake = server.bytesSent
        s.send([3, 0, 0, 0, 0, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF)])
        // Kernel buffers (4 MiB send, a small receive buffer) plus the 256 KiB high-water mark
        // and a 64 KiB slice: what may be queued at once for a client that does not read.
        let bound: UInt64 = 7 << 20
        var most: UInt64 = 0
        for i in 0..<50 {
            most = max(most, server.bytesSent - handshake)
            if i == 25 { source.paint(RFBRect(x: 2000, y: 1500, width: 64, height: 64), 0x00FF_FFFF) } // changes during the update
            usleep(10_000)
        }
        print("slices: at most \(most) bytes queued for a client that reads nothing")
        #expect(most > 0 && most <= bound, "\(most) bytes handed to the socket for a client that reads nothing")
        let d = TestDecoder(format: .guestNative, width: w, height: h)
        try d.decode(try #require(s.updateBytes(format: .guestNative, timeout: 30)))
        // What changed during the update, and anything sent from an older frame, comes next.
        s.send([3, 1, 0, 0, 0, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF)])
        try d.decode(try #require(s.updateBytes(format: .guestNative, timeout: 30)))
        #expect(d.pixels[1500 * w + 2000] == 0x00FF_FFFF && d.pixels[100 * w + 100] == 0x0011_2233 && d.pixels[0] == 0)
        #expect(wrongPixels(d, source, PixelTranslator(format: .guestNative)) == 0)
    }

    @Test("a request that arrives while a long update is written is answered after it, on a still screen (no refresh to wake it)")
    func requestDuringLongUpdate() throws {
        let (w, h) = (1920, 1080)
        let source = MemorySource(width: w, height: h)
        source.paint(RFBRect(x: 500, y: 500, width: 10, height: 10), 0x0012_3456)
        let server = try serve(source)
        defer { server.stop() }
        let s = try connect(server, receiveBuffer: 64 << 10)
        s.send([3, 0, 0, 0, 0, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF)]) // 8 MB of Raw: it stalls
        var p = pollfd(fd: s.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 10_000) == 1, "the first update began")
        s.send([3, 0, 1, 244, 1, 244, 0, 10, 0, 10]) // then the 10x10 block at (500, 500), non-incremental
        let d = TestDecoder(format: .guestNative, width: w, height: h)
        #expect(try d.decode(try #require(s.updateBytes(format: .guestNative, timeout: 30))).count >= 1)
        let second = try #require(s.updateBytes(format: .guestNative, timeout: 10), "the second request was answered")
        #expect(try d.decode(second).map(\.0) == [RFBRect(x: 500, y: 500, width: 10, height: 10)])
        #expect(d.pixels[505 * w + 505] == 0x0012_3456)
    }

    @Test("a client that reads nothing holds back no one: another gets every repaint; the slow one then gets the union, exact")
    func stalledClientHoldsNobodyBack() throws {
        let (w, h) = (1920, 1080)
        let source = MemorySource(width: w, height: h)
        let server = try serve(source)
        defer { server.stop() }
        let request: (Bool) -> [UInt8] = { [3, $0 ? 1 : 0, 0, 0, 0, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF)] }
        let slow = try connect(server, receiveBuffer: 64 << 10)
        slow.send(request(false)) // 8 MB of Raw: it stalls
        let fast = try connect(server)
        fast.send(request(false))
        let d = TestDecoder(format: .guestNative, width: w, height: h)
        try d.decode(try #require(fast.updateBytes(format: .guestNative)))
        for i in 0..<10 {
            fast.send(request(true))
            let area = RFBRect(x: 37 * i, y: 61 * i, width: 30, height: 20)
            source.paint(area, 0x0000_0100 * UInt32(i + 1))
            let bytes = try #require(fast.updateBytes(format: .guestNative), "repaint \(i) reached the reading client")
            #expect(try d.decode(bytes).map(\.0) == [area])
        }
        #expect(server.clientCount == 2, "the stalled client is still connected")
        let slowPicture = TestDecoder(format: .guestNative, width: w, height: h)
        try slowPicture.decode(try #require(slow.updateBytes(format: .guestNative, timeout: 30)))
        slow.send(request(true))
        try slowPicture.decode(try #require(slow.updateBytes(format: .guestNative, timeout: 30)))
        #expect(wrongPixels(slowPicture, source, PixelTranslator(format: .guestNative)) == 0, "the slow client caught up with every repaint")
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Display
import Foundation
import NIOCore
@testable import RFB
import Testing
import TestSupport

/// A smooth, many-coloured picture (what JPEG is for): 0x00RRGGBB at (x, y), shifted by `phase`.
func smooth(_ x: Int, _ y: Int, phase: Int = 0) -> UInt32 {
    UInt32((x + phase) & 0xFF) << 16 | UInt32((y * 2 + phase) & 0xFF) << 8 | UInt32(((x + y) / 2 + phase * 3) & 0xFF)
}

func frameBytes(width: Int, height: Int, _ colour: (Int, Int) -> UInt32) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: width * height * 4)
    for y in 0..<height {
        for x in 0..<width {
            let p = colour(x, y), o = (y * width + x) * 4
            b[o] = UInt8(p & 0xFF); b[o + 1] = UInt8((p >> 8) & 0xFF); b[o + 2] = UInt8((p >> 16) & 0xFF)
        }
    }
    return b
}

/// Mean and largest per-channel difference between two 0x00RRGGBB pixel lists.
func channelError(_ a: [UInt32], _ b: [UInt32]) -> (mean: Double, worst: Int) {
    var sum = 0, worst = 0
    for (p, q) in zip(a, b) {
        for s in [16, 8, 0] as [UInt32] {
            let d = abs(Int((p >> s) & 0xFF) - Int((q >> s) & 0xFF))
            sum += d; worst = max(worst, d)
        }
    }
    return (Double(sum) / Double(3 * max(1, a.count)), worst)
}

@Suite("Tight JPEG")
struct TightJPEGTests {
    @Test("the JPEG quality pseudo-encodings turn Tight's JPEG on with TigerVNC's level table; fine quality and subsampling override it")
    func negotiation() {
        func jpeg(_ l: [Int32]) -> TightJPEGSettings? { EncodingChoice(clientList: l).jpeg }
        #expect(jpeg([7]) == nil, "no quality level: lossless")
        #expect(jpeg([16, 7, -27]) == nil, "ZRLE chosen: no JPEG")
        #expect(jpeg([7, -27]) == TightJPEGSettings(quality: 77, subsampling: .chroma422))
        #expect(jpeg([7, -32]) == TightJPEGSettings(quality: 15, subsampling: .chroma420))
        #expect(jpeg([7, -23]) == TightJPEGSettings(quality: 100, subsampling: .none))
        #expect(jpeg([7, -30, -25]) == TightJPEGSettings(quality: 41, subsampling: .chroma420), "the first level counts")
        #expect(jpeg([7, -32, -412]) == TightJPEGSettings(quality: 100, subsampling: .chroma420), "fine quality overrides the level's")
        #expect(jpeg([7, -500, -768]) == TightJPEGSettings(quality: 12, subsampling: .none), "fine quality alone turns JPEG on")
        #expect(jpeg([7, -27, -765])?.subsampling == .gray)
        #expect(jpeg([7, -27, -763])?.subsampling == .chroma420, "16X, which libjpeg cannot do, is 4:2:0")
        #expect(jpeg([7, -763]) == nil, "subsampling alone does not ask for JPEG")
        #expect(jpeg([7, -512]) == nil, "fine quality 0 means none (TurboVNC)")
        #expect(TightJPEGSettings(quality: 1000, subsampling: .none).quality == 100)
        #expect(TightJPEGSettings(level: -4).quality == 15)
    }

    @Test("a dense rectangle goes out as 0x90, a compact length and a whole JPEG that decodes close to the source",
          arguments: [(9, 3.0, 16), (5, 4.0, 40), (0, 12.0, 120)])
    func wireAndPixels(level: Int, meanLimit: Double, maxLimit: Int) throws {
        let (w, h) = (200, 100)
        var bytes = frameBytes(width: w, height: h) { smooth($0, $1) }
        let geometry = FramebufferGeometry(width: w, height: h)
        let grid = TileGrid(geometry: geometry, tile: TileSize(width: 64, height: 16))
        let t = TightEncoder()
        t.jpeg = TightJPEGSettings(level: level)
        var buffer = ByteBuffer()
        let lossy = bytes.withUnsafeMutableBytes { b in
            t.encode(RFBRect(x: 0, y: 0, width: w, height: h), of: FrameView(geometry: geometry, grid: grid, bytes: UnsafeRawBufferPointer(b)),
                     translator: PixelTranslator(format: .guestNative), into: &buffer)
        }
        let out = Array(buffer.readableBytesView)
        #expect(lossy)
        #expect(out[0] == 0x90, "JpegCompression")
        var n = Int(out[1] & 0x7F), at = 2
        if out[1] & 0x80 != 0 { n |= Int(out[2] & 0x7F) << 7; at = 3; if out[2] & 0x80 != 0 { n |= Int(out[3]) << 14; at = 4 } }
        #expect(n == out.count - at, "the compact length covers exactly the JPEG")
        let jpeg = Array(out[at...])
        #expect(Array(jpeg.prefix(2)) == [0xFF, 0xD8] && Array(jpeg.suffix(2)) == [0xFF, 0xD9], "SOI ... EOI")
        let rgb = try #require(JPEGDecoder.decode(jpeg, width: w, height: h))
        let got: [UInt32] = (0..<w * h).map { i -> UInt32 in
            let r = UInt32(rgb[i * 3]), g = UInt32(rgb[i * 3 + 1]), b = UInt32(rgb[i * 3 + 2])
            return r << 16 | g << 8 | b
        }
        let want = (0..<w * h).map { smooth($0 % w, $0 / w) }
        let e = channelError(got, want)
        #expect(e.mean <= meanLimit && e.worst <= maxLimit, "level \(level): mean error \(e.mean), largest \(e.worst)")
        #expect(JPEGDecoder.decode(jpeg, width: w + 1, height: h) == nil, "a size mismatch is refused, not trusted")
        #expect(JPEGDecoder.decode([0xFF, 0xD8, 1, 2, 3], width: w, height: h) == nil, "libjpeg's error comes back as nil, the process lives")
    }

    @Test("lossless instead of JPEG: no quality asked, 16 or 8 bpp, not allowed, small, or few colours; and those decode exactly")
    func fallbacks() throws {
        let (w, h) = (200, 100)
        let bytes = frameBytes(width: w, height: h) { x, y in x < 100 ? smooth(x, y) : ((x + y) % 2 == 0 ? 0x00FF_0000 : 0x0000_00FF) }
        // Many colours, but in runs of 16 (flat content such as a desktop's): zlib's kind of picture.
        let flatBytes = frameBytes(width: w, height: h) { x, y in UInt32((x / 16 + y) % 64) * 0x0004_0301 }
        let geometry = FramebufferGeometry(width: w, height: h)
        let grid = TileGrid(geometry: geometry, tile: TileSize(width: 64, height: 16))
        let dense = RFBRect(x: 0, y: 0, width: 100, height: 100), twoColour = RFBRect(x: 100, y: 0, width: 100, height: 100)
        let cases: [(String, TightJPEGSettings?, PixelFormat, Bool, RFBRect)] = [
            ("no quality level", nil, .guestNative, true, dense),
            ("16 bpp", TightJPEGSettings(level: 5), formats[4].1, true, dense),
            ("8 bpp", TightJPEGSettings(level: 5), formats[6].1, true, dense),
            ("lossy not allowed", TightJPEGSettings(level: 5), .guestNative, false, dense),
            ("under 4096 pixels", TightJPEGSettings(level: 5), .guestNative, true, RFBRect(x: 0, y: 0, width: 60, height: 60)),
            ("two colours", TightJPEGSettings(level: 5), .guestNative, true, twoColour),
            ("many colours in runs (flat, text-like)", TightJPEGSettings(level: 5), .guestNative, true, RFBRect(x: 0, y: 0, width: 200, height: 100)),
        ]
        for (name, settings, format, allowed, rect) in cases {
            let t = TightEncoder()
            t.jpeg = settings
            let translator = PixelTranslator(format: format)
            var writer = UpdateWriter()
            writer.header(rect, encoding: EncodingType.tight)
            let isFlat = name.hasPrefix("many colours in runs")
            let src = isFlat ? flatBytes : bytes
            let lossy = src.withUnsafeBytes { b in
                writer.withBuffer { t.encode(rect, of: FrameView(geometry: geometry, grid: grid, bytes: b),
                                            translator: translator, into: &$0, lossy: allowed) }
            }
            let message = Array(writer.finish().readableBytesView)
            #expect(!lossy && message[16] != 0x90, "\(name): lossless")
            let d = TestDecoder(format: format, width: w, height: h)
            try d.decode(message)
            var wrong = 0
            for y in rect.y..<rect.maxY {
                for x in rect.x..<rect.maxX {
                    let o = (y * w + x) * 4
                    let p = UInt32(src[o + 2]) << 16 | UInt32(src[o + 1]) << 8 | UInt32(src[o])
                    if d.pixels[y * w + x] != translator.value(p) { wrong += 1 }
                }
            }
            #expect(wrong == 0, "\(name): \(wrong) pixels differ")
        }
    }

    @Test("lossy areas: marked when sent as JPEG, due after the quiet time, kept lossy while sent over, cleared by an exact cover")
    func lossyRegions() {
        var l = LossyRegions(quiet: 100)
        l.fit(width: 300, height: 130)
        #expect(l.isEmpty && l.nextDue == nil)
        l.sent(RFBRect(x: 10, y: 10, width: 100, height: 50), lossy: true, now: 1000) // cells (0,0) and (1,0)
        l.sent(RFBRect(x: 100, y: 0, width: 10, height: 10), lossy: false, now: 1050) // exact over part of cell (1,0): restarts it
        #expect(l.nextDue == 1100)
        l.sent(RFBRect(x: 0, y: 0, width: 64, height: 64), lossy: false, now: 1060) // covers cell (0,0): exact
        #expect(!l.hasDue(now: 1149) && l.hasDue(now: 1150))
        #expect(l.takeDue(now: 1150) == [RFBRect(x: 64, y: 0, width: 64, height: 64)])
        #expect(l.isEmpty)
        l.sent(RFBRect(x: 250, y: 100, width: 50, height: 30), lossy: true, now: 2000)
        l.sent(RFBRect(x: 0, y: 70, width: 200, height: 10), lossy: true, now: 2010)
        #expect(l.takeDue(now: 2100) == [RFBRect(x: 256, y: 64, width: 44, height: 64), RFBRect(x: 192, y: 128, width: 108, height: 2)])
        #expect(l.takeDue(now: 2110) == [RFBRect(x: 0, y: 64, width: 256, height: 64)])
        #expect(l.isEmpty)
        l.sent(RFBRect(x: 0, y: 0, width: 10, height: 10), lossy: true, now: 1)
        l.fit(width: 300, height: 131)
        #expect(l.isEmpty, "a new geometry starts over")
    }
}

extension Socket {
    /// Everything that arrives until nothing more has come for `quiet` seconds (first byte within `timeout`).
    func drain(timeout: Double = 5, quiet: Double = 0.3) -> [UInt8] {
        guard var out = read(1, timeout: timeout) else { return [] }
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(quiet * 1000)) <= 0 { return out }
            let r = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if r <= 0 { return out }
            out += buf[0..<r]
        }
    }

    func setEncodings(_ list: [Int32]) {
        var m: [UInt8] = [2, 0, UInt8(list.count >> 8), UInt8(list.count & 0xFF)]
        for e in list { let u = UInt32(bitPattern: e); m += [UInt8(u >> 24), UInt8((u >> 16) & 0xFF), UInt8((u >> 8) & 0xFF), UInt8(u & 0xFF)] }
        send(m)
    }
}

@Suite("Tight JPEG over a socket", .serialized)
struct TightJPEGServerTests {
    @Test("a moving dense area arrives as JPEG, close; once it is quiet for the refresh time an exact copy follows by itself")
    func losslessRefresh() throws {
        let (w, h) = (256, 192)
        let source = MemorySource(width: w, height: h)
        source.paint(RFBRect(x: 0, y: 0, width: w, height: h)) { smooth($0, $1) }
        let (server, s) = try ServerTests().start(source)
        defer { server.stop() }
        s.setEncodings([EncodingType.tight, EncodingType.lastRect, EncodingType.qualityLevel0 + 5])
        let d = TestDecoder(format: .guestNative, width: w, height: h)
        func exact() -> Int { (0..<w * h).filter { d.pixels[$0] != source.pixel(x: $0 % w, y: $0 / w) }.count }
        s.send([3, 0, 0, 0, 0, 0, 1, 0, 0, 192]) // full
        try d.decode(s.drain())
        #expect(d.jpegRects.isEmpty, "a full (non-incremental) update is exact")
        #expect(exact() == 0)
        // The area moves: the incremental update is JPEG, close but not exact.
        source.paint(RFBRect(x: 0, y: 0, width: w, height: 128)) { smooth($0, $1, phase: 40) }
        s.send([3, 1, 0, 0, 0, 0, 1, 0, 0, 192])
        try d.decode(s.drain())
        #expect(!d.jpegRects.isEmpty, "the changed dense area went out as JPEG")
        let e = channelError(d.pixels, (0..<w * h).map { source.pixel(x: $0 % w, y: $0 / w) })
        #expect(e.mean < 3, "JPEG close to the source: mean error \(e.mean)")
        #expect(exact() > 0, "and lossy")
        // Nothing changes; the held request is answered by the refresh after the quiet time.
        d.jpegRects.removeAll()
        let asked = Date()
        s.send([3, 1, 0, 0, 0, 0, 1, 0, 0, 192])
        let refresh = s.drain(timeout: 60) // a bound on the wait: the refresh comes after the quiet time
        let waited = Date().timeIntervalSince(asked)
        #expect(!refresh.isEmpty, "a refresh came")
        let rects = try d.decode(refresh)
        #expect(d.jpegRects.isEmpty && rects.allSatisfy { $0.1 == EncodingType.tight || $0.1 == EncodingType.lastRect })
        // The quiet time (1 s) is a floor: load can only make the refresh later.
        #expect(waited > 0.5, "not before the quiet time: \(waited) s")
        #expect(exact() == 0, "the client's copy is exact after the refresh")
        // Then nothing more: the refreshed area is exact and nothing changed.
        s.send([3, 1, 0, 0, 0, 0, 1, 0, 0, 192])
        #expect(s.read(1, timeout: 1.5) == nil)
    }

    @Test("no JPEG for a client that asked for no quality level, or whose pixels are 16 bpp", arguments: [false, true])
    func noJPEG(sixteen: Bool) throws {
        let (w, h) = (256, 192)
        let source = MemorySource(width: w, height: h)
        let (server, s) = try ServerTests().start(source)
        defer { server.stop() }
        let format = sixteen ? formats[4].1 : PixelFormat.guestNative
        if sixteen { s.send([0, 0, 0, 0] + format.bytes) }
        s.setEncodings(sixteen ? [EncodingType.tight, EncodingType.qualityLevel0 + 5] : [EncodingType.tight])
        let d = TestDecoder(format: format, width: w, height: h)
        s.send([3, 0, 0, 0, 0, 0, 1, 0, 0, 192])
        try d.decode(s.drain())
        source.paint(RFBRect(x: 0, y: 0, width: w, height: 128)) { smooth($0, $1, phase: 40) }
        s.send([3, 1, 0, 0, 0, 0, 1, 0, 0, 192])
        try d.decode(s.drain())
        #expect(d.jpegRects.isEmpty)
        let t = PixelTranslator(format: format)
        #expect((0..<w * h).filter { d.pixels[$0] != t.value(source.pixel(x: $0 % w, y: $0 / w)) }.isEmpty, "exact at once")
    }

    @Test("randomized SetEncodings lists around the JPEG pseudo-encodings: the server keeps serving, decodable, and ends exact")
    func randomEncodings() throws {
        let (w, h) = (256, 192)
        let source = MemorySource(width: w, height: h)
        let (server, s) = try ServerTests().start(source)
        defer { server.stop() }
        var rng = SplitMix(state: 0x0A11_CE5)
        let d = TestDecoder(format: .guestNative, width: w, height: h)
        var tried = 0
        for i in 0..<20 {
            var list: [Int32] = []
            for _ in 0..<Int(rng.next() % 12) {
                switch rng.next() % 5 {
                case 0: list.append(Int32(truncatingIfNeeded: rng.next()))
                case 1: list.append(-40 + Int32(rng.next() % 20))
                case 2: list.append(-520 + Int32(rng.next() % 120))
                case 3: list.append(-770 + Int32(rng.next() % 10))
                default: list.append([EncodingType.tight, EncodingType.zrle, EncodingType.raw, EncodingType.lastRect][Int(rng.next() % 4)])
                }
            }
            s.setEncodings(list)
            source.paint(RFBRect(x: 0, y: 0, width: w, height: 128)) { smooth($0, $1, phase: i * 7) }
            s.send([3, i == 0 ? 0 : 1, 0, 0, 0, 0, 1, 0, 0, 192])
            try d.decode(s.drain())
            tried += 1
        }
        s.setEncodings([EncodingType.tight])
        // While JPEG'd areas are left, a held request is answered by a refresh after the quiet time.
        func exact() -> Bool { (0..<w * h).allSatisfy { d.pixels[$0] == source.pixel(x: $0 % w, y: $0 / w) } }
        for _ in 0..<3 where !exact() {
            s.send([3, 1, 0, 0, 0, 0, 1, 0, 0, 192])
            let refresh = s.drain(timeout: 60)
            if refresh.isEmpty { break }
            try d.decode(refresh)
        }
        #expect((0..<w * h).filter { d.pixels[$0] != source.pixel(x: $0 % w, y: $0 / w) }.isEmpty, "exact in the end")
        #expect(server.clientCount == 1)
        print("Tight JPEG: \(tried) random SetEncodings lists served")
    }
}

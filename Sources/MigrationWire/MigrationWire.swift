/// Framing and encoding of `MigrationMessage`s.
///
/// A frame is a little-endian u32 length, then that many bytes: a type byte and the body.
/// Every integer is little-endian; strings and byte strings are a u32 length and the bytes.
/// The decoder checks every length against what is left and every count against its limit,
/// so no input can make it trap, loop or allocate more than `maxFrameBytes`.
public enum MigrationWire {
    /// 2: the device state carries the input events waiting in the source's VMM.
    public static let version: UInt16 = 2
    public static let magic: [UInt8] = Array("RSMIG".utf8)
    public static let pageSize = 4096
    /// Largest frame accepted: a batch of 256 pages with their bytes fits easily.
    public static let maxFrameBytes = 4 << 20
    /// Largest guest image carried in a config.
    public static let maxImageBytes = 64 << 20
    public static let maxPagesPerMessage = 1024
    public static let maxVCPUs = 64
    /// Waiting input events in one device state (16 bytes each on the wire).
    public static let maxWaitingInput = 65536

    enum Kind: UInt8 {
        case hello = 1, config, pages, roundEnd, vcpuState, deviceState, digests, complete, ready, commit, started, abort, accepted
    }

    /// Appends one message as a frame.
    public static func encode(_ m: MigrationMessage, into out: inout [UInt8]) {
        var w = ByteWriter()
        switch m {
        case .hello(let v, let caps):
            w.u8(Kind.hello.rawValue); w.bytes(magic); w.u16(v); w.u32(caps)
        case .config(let c):
            w.u8(Kind.config.rawValue)
            w.string(c.imageName); w.blob(c.image); w.u64(c.imageDigest); w.string(c.arguments)
            w.u64(c.ramBytes); w.u32(c.cpus); w.u32(c.width); w.u32(c.height); w.u32(c.pitch)
            w.u64(c.guestHz.bitPattern); w.string(c.tracking); w.u32(c.ringEntries); w.u32(c.tileWidth); w.u32(c.tileHeight)
            w.u8(c.verify ? 1 : 0)
        case .pages(let slot, let pages):
            w.u8(Kind.pages.rawValue); w.u32(slot); w.u32(UInt32(pages.count))
            for p in pages {
                w.u64(p.page)
                if let d = p.data { w.u8(0); w.bytes(d) } else { w.u8(1) }
            }
        case .roundEnd(let r, let n):
            w.u8(Kind.roundEnd.rawValue); w.u32(r); w.u64(n)
        case .vcpuState(let i, let s):
            w.u8(Kind.vcpuState.rawValue); w.u32(i); w.blob(s)
        case .deviceState(let d):
            w.u8(Kind.deviceState.rawValue); w.u32(UInt32(d.frames.count))
            for f in d.frames { w.u64(f) }
            w.u64(d.tick)
            w.u32(UInt32(d.waitingInput.count))
            for e in d.waitingInput { w.u16(e.type); w.u16(e.code); w.u32(UInt32(bitPattern: e.value)); w.u32(UInt32(bitPattern: e.x)); w.u32(UInt32(bitPattern: e.y)) }
        case .digests(let slot, let list):
            w.u8(Kind.digests.rawValue); w.u32(slot); w.u32(UInt32(list.count))
            for d in list { w.u64(d.page); w.u64(d.digest) }
        case .complete: w.u8(Kind.complete.rawValue)
        case .ready: w.u8(Kind.ready.rawValue)
        case .commit(let paused): w.u8(Kind.commit.rawValue); w.u64(paused)
        case .accepted: w.u8(Kind.accepted.rawValue)
        case .started: w.u8(Kind.started.rawValue)
        case .abort(let why): w.u8(Kind.abort.rawValue); w.string(String(why.prefix(1000)))
        }
        var len = ByteWriter()
        len.u32(UInt32(w.bytes.count))
        out += len.bytes
        out += w.bytes
    }

    /// Appends a `pages` frame whose page bytes are read from `source(page)` (a pointer to
    /// 4096 bytes, or nil for a zero page), without building `PageRecord`s first.
    public static func encodePages(slot: UInt32, pages: [UInt64], into out: inout [UInt8],
                                   source: (UInt64) -> UnsafeRawBufferPointer?) {
        var w = ByteWriter()
        w.bytes.reserveCapacity(9 + pages.count * (9 + pageSize))
        w.u8(Kind.pages.rawValue); w.u32(slot); w.u32(UInt32(pages.count))
        for p in pages {
            w.u64(p)
            if let d = source(p) { w.u8(0); w.bytes.append(contentsOf: d) } else { w.u8(1) }
        }
        var len = ByteWriter()
        len.u32(UInt32(w.bytes.count))
        out += len.bytes
        out += w.bytes
    }

    /// The length of the frame at the start of `buffer`, once its 4-byte header is there.
    /// Throws for a frame longer than `maxFrameBytes`.
    public static func frameLength(_ header: some Collection<UInt8>) throws(MigrationWireError) -> Int? {
        guard header.count >= 4 else { return nil }
        var r = ByteReader(Array(header.prefix(4)))
        let n = Int(try r.u32())
        guard n >= 1 else { throw .malformed("an empty frame") }
        guard n <= maxFrameBytes else {
            let head = Array(header.prefix(4))
            if head.allSatisfy({ (0x20...0x7E).contains($0) }) {
                throw .malformed("not a Ringside migration stream (it starts with \"\(String(decoding: head, as: UTF8.self))\")")
            }
            throw .malformed("a frame of \(n) bytes (the limit is \(maxFrameBytes))")
        }
        return n
    }

    /// Decodes one frame body (the bytes after the length).
    public static func decode(_ body: [UInt8]) throws(MigrationWireError) -> MigrationMessage {
        var r = ByteReader(body)
        let raw = try r.u8()
        guard let kind = Kind(rawValue: raw) else { throw .malformed("unknown message type \(raw)") }
        let m: MigrationMessage
        switch kind {
        case .hello:
            guard try r.bytes(magic.count) == magic else { throw .malformed("not a Ringside migration stream (bad magic)") }
            m = .hello(version: try r.u16(), capabilities: try r.u32())
        case .config:
            let name = try r.string(limit: 4096)
            let image = try r.blob(limit: maxImageBytes)
            let digest = try r.u64()
            let args = try r.string(limit: 65536)
            let ram = try r.u64(), cpus = try r.u32(), width = try r.u32(), height = try r.u32(), pitch = try r.u32()
            let hz = Double(bitPattern: try r.u64())
            let tracking = try r.string(limit: 64)
            let ring = try r.u32(), tw = try r.u32(), th = try r.u32()
            let verify = try r.u8()
            guard verify <= 1 else { throw .malformed("verify flag \(verify)") }
            m = .config(MigrationConfig(imageName: name, image: image, imageDigest: digest, arguments: args, ramBytes: ram, cpus: cpus,
                                        width: width, height: height, pitch: pitch, guestHz: hz, tracking: tracking, ringEntries: ring,
                                        tileWidth: tw, tileHeight: th, verify: verify == 1))
        case .pages:
            let slot = try r.u32()
            let n = Int(try r.u32())
            guard n <= maxPagesPerMessage else { throw .malformed("\(n) pages in one message (the limit is \(maxPagesPerMessage))") }
            var pages: [PageRecord] = []
            pages.reserveCapacity(n)
            for _ in 0..<n {
                let page = try r.u64()
                switch try r.u8() {
                case 0: pages.append(PageRecord(page: page, data: try r.bytes(pageSize)))
                case 1: pages.append(PageRecord(page: page, data: nil))
                case let f: throw .malformed("page flag \(f)")
                }
            }
            m = .pages(slot: slot, pages)
        case .roundEnd:
            m = .roundEnd(round: try r.u32(), pages: try r.u64())
        case .vcpuState:
            m = .vcpuState(index: try r.u32(), state: try r.blob(limit: 1 << 20))
        case .deviceState:
            let n = Int(try r.u32())
            guard n <= maxVCPUs else { throw .malformed("\(n) vCPU frame counters") }
            var frames: [UInt64] = []
            for _ in 0..<n { frames.append(try r.u64()) }
            let tick = try r.u64()
            let count = Int(try r.u32())
            guard count <= maxWaitingInput else { throw .malformed("\(count) waiting input events (the limit is \(maxWaitingInput))") }
            var input: [WaitingInputEvent] = []
            input.reserveCapacity(min(count, r.remaining / 16))
            for _ in 0..<count {
                input.append(WaitingInputEvent(type: try r.u16(), code: try r.u16(), value: Int32(bitPattern: try r.u32()),
                                               x: Int32(bitPattern: try r.u32()), y: Int32(bitPattern: try r.u32())))
            }
            m = .deviceState(DeviceState(frames: frames, tick: tick, waitingInput: input))
        case .digests:
            let slot = try r.u32()
            let n = Int(try r.u32())
            guard n <= maxFrameBytes / 16 else { throw .malformed("\(n) digests in one message") }
            var list: [PageDigestRecord] = []
            list.reserveCapacity(n)
            for _ in 0..<n { list.append(PageDigestRecord(page: try r.u64(), digest: try r.u64())) }
            m = .digests(slot: slot, list)
        case .complete: m = .complete
        case .ready: m = .ready
        case .commit: m = .commit(pausedNanos: try r.u64())
        case .accepted: m = .accepted
        case .started: m = .started
        case .abort: m = .abort(try r.string(limit: 4096))
        }
        guard r.atEnd else { throw .malformed("\(r.remaining) bytes after a \(m.name) message") }
        return m
    }
}

public enum MigrationWireError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self {
        case .malformed(let what): return "malformed migration stream: \(what)"
        }
    }
}

/// A fast 64-bit digest of a page (multiply-xor over 8-byte words). A check that the
/// destination's copy matches, not a cryptographic hash.
public enum PageDigest {
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
        var i = 0
        while i + 8 <= bytes.count {
            let w = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0x0000_0100_0000_01B3
            h ^= h >> 29
            i += 8
        }
        while i < bytes.count { h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01B3; i += 1 }
        return h
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func bytes(_ b: [UInt8]) { bytes += b }
    mutating func blob(_ b: [UInt8]) { u32(UInt32(b.count)); bytes += b }
    mutating func string(_ s: String) { blob(Array(s.utf8)) }
}

struct ByteReader {
    private let data: [UInt8]
    private var at = 0
    init(_ data: [UInt8]) { self.data = data }
    var remaining: Int { data.count - at }
    var atEnd: Bool { at == data.count }

    mutating func bytes(_ n: Int) throws(MigrationWireError) -> [UInt8] {
        guard n >= 0, n <= remaining else { throw .malformed("truncated: needed \(n) bytes, \(remaining) left") }
        defer { at += n }
        return Array(data[at..<at + n])
    }
    private mutating func int<T: FixedWidthInteger>(_: T.Type) throws(MigrationWireError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw .malformed("truncated: needed \(size) bytes, \(remaining) left") }
        var v: T = 0
        for i in 0..<size { v |= T(data[at + i]) << (8 * i) }
        at += size
        return v
    }
    mutating func u8() throws(MigrationWireError) -> UInt8 { try int(UInt8.self) }
    mutating func u16() throws(MigrationWireError) -> UInt16 { try int(UInt16.self) }
    mutating func u32() throws(MigrationWireError) -> UInt32 { try int(UInt32.self) }
    mutating func u64() throws(MigrationWireError) -> UInt64 { try int(UInt64.self) }
    mutating func blob(limit: Int) throws(MigrationWireError) -> [UInt8] {
        let n = Int(try u32())
        guard n <= limit else { throw .malformed("a field of \(n) bytes (the limit is \(limit))") }
        return try bytes(n)
    }
    mutating func string(limit: Int) throws(MigrationWireError) -> String {
        let b = try blob(limit: limit)
        guard let s = String(validating: b, as: UTF8.self) else { throw .malformed("a string that is not UTF-8") }
        return s
    }
}

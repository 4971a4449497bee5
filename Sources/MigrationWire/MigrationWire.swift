/// Framing and encoding of `MigrationMessage`s.
///
/// A frame is a little-endian u32 length, then that many bytes: a type byte and the body.
/// Every integer is little-endian; strings and byte strings are a u32 length and the bytes.
/// The decoder checks every length against what is left and every count against its limit,
/// so no input can make it trap, loop or allocate more than `maxFrameBytes`.
public enum MigrationWire {
    /// 2: the device state carries the input events waiting in the source's VMM.
    /// 3: the config carries the largest mode, the device state the mode in force.
    /// 4: heartbeats both ways and acknowledged rounds (liveness whichever side is talking);
    /// the config's migration id, the outcome query and `done` (a lost commit never loses the
    /// guest); commit and started carry what both sides need to report the same downtime;
    /// a config frame may carry an image up to `maxImageBytes`.
    public static let version: UInt16 = 4
    public static let magic: [UInt8] = Array("RSMIG".utf8)
    public static let pageSize = 4096
    /// Largest frame accepted, but for a config: a batch of 256 pages with their bytes fits easily.
    public static let maxFrameBytes = 4 << 20
    /// Largest guest image carried in a config.
    public static let maxImageBytes = 64 << 20
    /// Largest config frame: the image and at most 1 MiB besides (its strings are limited to 72 KiB).
    public static let maxConfigFrameBytes = maxImageBytes + (1 << 20)
    public static let maxPagesPerMessage = 1024
    public static let maxVCPUs = 64
    /// Waiting input events in one device state (16 bytes each on the wire).
    public static let maxWaitingInput = 65536
    /// The debug console keeps at most this many bytes of an unfinished line.
    public static let maxConsoleBytes = 4096

    enum Kind: UInt8 {
        case hello = 1, config, pages, roundEnd, vcpuState, deviceState, digests, complete, ready, commit, started, abort, accepted
        case heartbeat, roundAck, outcomeQuery, outcome, done, compressedPages, challenge, binding
    }

    /// Bytes of a destination's nonce (`challenge`, `binding`).
    public static let nonceBytes = 16
    /// Hello capability bit 1: the source binds the destination's nonce, and the destination
    /// sends one (`challenge`, `binding`). Protocol 4 builds from before send 0 and ignore it.
    public static let capabilityBindsNonce: UInt32 = 1 << 1

    /// Exactly `nonceBytes` of `nonce` (zero-padded), so a frame's length never depends on a caller.
    static func fixedNonce(_ nonce: [UInt8]) -> [UInt8] {
        Array((nonce + [UInt8](repeating: 0, count: nonceBytes)).prefix(nonceBytes))
    }

    /// The frame body of a heartbeat, which a connection drops before decoding.
    public static let heartbeatBody: [UInt8] = [Kind.heartbeat.rawValue]
    /// Whether a frame body is a heartbeat or a round acknowledgement (`isRoundAck`): what a
    /// connection takes out of the stream before the protocol's code reads it.
    public static func isHeartbeat(_ firstByte: UInt8) -> Bool { firstByte == Kind.heartbeat.rawValue }
    public static func isRoundAck(_ firstByte: UInt8) -> Bool { firstByte == Kind.roundAck.rawValue }

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
            w.u32(c.maxWidth); w.u32(c.maxHeight)
            w.u64(c.migrationID)
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
            w.u64(d.uptimeNanos)
            w.u32(UInt32(d.waitingInput.count))
            for e in d.waitingInput { w.u16(e.type); w.u16(e.code); w.u32(UInt32(bitPattern: e.value)); w.u32(UInt32(bitPattern: e.x)); w.u32(UInt32(bitPattern: e.y)) }
            w.u32(d.modeWidth); w.u32(d.modeHeight); w.u32(d.modePitch)
            w.u32(UInt32(d.consoleUnfinished.count))
            for line in d.consoleUnfinished { w.blob(line) }
        case .digests(let slot, let list):
            w.u8(Kind.digests.rawValue); w.u32(slot); w.u32(UInt32(list.count))
            for d in list { w.u64(d.page); w.u64(d.digest) }
        case .complete: w.u8(Kind.complete.rawValue)
        case .ready: w.u8(Kind.ready.rawValue)
        case .commit(let paused, let sinceReady): w.u8(Kind.commit.rawValue); w.u64(paused); w.u64(sinceReady)
        case .accepted(let state): w.u8(Kind.accepted.rawValue); w.u64(state)
        case .started(let resume): w.u8(Kind.started.rawValue); w.u64(resume)
        case .abort(let why): w.u8(Kind.abort.rawValue); w.string(String(why.prefix(1000)))
        case .heartbeat: w.u8(Kind.heartbeat.rawValue)
        case .roundAck(let r, let n, let load): w.u8(Kind.roundAck.rawValue); w.u32(r); w.u64(n); w.u64(load)
        case .outcomeQuery(let id): w.u8(Kind.outcomeQuery.rawValue); w.u64(id)
        case .outcome(let started, let resume): w.u8(Kind.outcome.rawValue); w.u8(started ? 1 : 0); w.u64(resume)
        case .done: w.u8(Kind.done.rawValue)
        case .challenge(let n): w.u8(Kind.challenge.rawValue); w.bytes(fixedNonce(n))
        case .binding(let n): w.u8(Kind.binding.rawValue); w.bytes(fixedNonce(n))
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

    /// The length of the frame at the start of `header` (its first 5 bytes, or fewer when
    /// that is all there is), or nil until enough is there to tell. Throws for a frame longer
    /// than `maxFrameBytes`, unless it is a config (its type byte, the fifth, says so) of at
    /// most `maxConfigFrameBytes`: checked before anything of the frame is buffered.
    public static func frameLength(_ header: some Collection<UInt8>) throws(MigrationWireError) -> Int? {
        guard header.count >= 4 else { return nil }
        let head = Array(header.prefix(5))
        var r = ByteReader(Array(head.prefix(4)))
        let n = Int(try r.u32())
        guard n >= 1 else { throw .malformed("an empty frame") }
        if n <= maxFrameBytes { return n }
        if n <= maxConfigFrameBytes {
            guard head.count == 5 else { return nil }
            if head[4] == Kind.config.rawValue { return n }
        }
        if head.prefix(4).allSatisfy({ (0x20...0x7E).contains($0) }) {
            throw .malformed("not a Ringside migration stream (it starts with \"\(String(decoding: head.prefix(4), as: UTF8.self))\")")
        }
        throw .malformed("a frame of \(n) bytes (the limit is \(maxFrameBytes), \(maxConfigFrameBytes) for a config)")
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

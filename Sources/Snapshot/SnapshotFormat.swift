import MigrationWire

/// The snapshot file format (docs/snapshots.md): a 64-byte header, then sections, each
/// holding one message of the migration stream (`MigrationWire`: the same encoders for the
/// config, pages, vCPU state and device state), with a checksum per section:
///
///     header   "RINGSNAP", u16 format version, u16 kind (1 full, 2 incremental), u32 0,
///              16-byte id, 16-byte base id (zero for a full snapshot), u64 sequence
///              (0 for a full one, the base's + 1), u64 checksum of the 56 bytes before it
///     section  u32 type, u32 0, u64 length n, n bytes: a MigrationWire message body (its
///              type byte first, no frame length), u64 checksum of the type, length and body
///
/// Sections come in this order: config (full snapshots only), pages..., one vcpu-state per
/// vCPU (0, 1, ...), device-state, end; nothing follows the end. A full snapshot holds every
/// page that is not zero; an incremental one every page dirtied since its base, zero or not.
public enum SnapshotFormat {
    public static let magic: [UInt8] = Array("RINGSNAP".utf8)
    /// The version written. Version 1 (before migration protocol 4) differs only in its
    /// config section, which ends before the migration id; a reader takes both.
    public static let version: UInt16 = 2
    public static let oldestReadableVersion: UInt16 = 1
    public static let headerBytes = 64
    public static let sectionHeaderBytes = 16
    public static let checksumBytes = 8
    /// Pages per pages section (MigrationWire's limit for one message).
    public static let pagesPerSection = MigrationWire.maxPagesPerMessage

    public enum Kind: UInt16, Sendable {
        case full = 1
        case incremental = 2
    }

    /// Section types; the first four are the migration messages they hold.
    public enum SectionType: UInt32, Sendable, CaseIterable {
        case config = 1
        case pages = 2
        case vcpuState = 3
        case deviceState = 4
        /// The last section: counts of what came before it (`SnapshotEnd`).
        case end = 5

        /// The largest body a reader accepts for this type, checked before reading it.
        var maxBodyBytes: Int {
            switch self {
            case .config: return MigrationWire.maxImageBytes + (1 << 20)
            case .pages: return 9 + pagesPerSection * (9 + MigrationWire.pageSize)
            case .vcpuState: return 9 + (1 << 20)
            case .deviceState: return 1 << 21
            case .end: return 16
            }
        }

        var name: String {
            switch self {
            case .config: return "config"
            case .pages: return "pages"
            case .vcpuState: return "vcpu-state"
            case .deviceState: return "device-state"
            case .end: return "end"
            }
        }
    }

    /// The checksum of a section: its body's digest and its header's, combined so that any
    /// change to one bit of either changes it (`PageDigest` is a bijection per word, and the
    /// header's digest is multiplied by an odd constant). It detects damage; it is not a
    /// cryptographic hash.
    public static func checksum(header: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer) -> UInt64 {
        PageDigest.of(body) &+ PageDigest.of(header) &* 0x9E37_79B9_7F4A_7C15
    }
}

/// A snapshot's identity: 16 random bytes, written in its header; an incremental snapshot
/// names its base's, so a restore with the wrong base is refused.
public struct SnapshotID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a snapshot id is 16 bytes")
        self.bytes = bytes
    }

    public static func random() -> SnapshotID {
        var g = SystemRandomNumberGenerator()
        let a = g.next() as UInt64, b = g.next() as UInt64
        var out: [UInt8] = []
        for v in [a, b] { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        return SnapshotID(bytes: out)
    }

    static let none = SnapshotID(bytes: [UInt8](repeating: 0, count: 16))

    /// Hex, as `ringside ctl` shows it.
    public var description: String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}

/// What a snapshot file's header says.
public struct SnapshotHeader: Equatable, Sendable {
    public var kind: SnapshotFormat.Kind
    public var id: SnapshotID
    /// The snapshot this one continues (incremental only).
    public var base: SnapshotID?
    /// 0 for a full snapshot, the base's + 1 for an incremental one.
    public var sequence: UInt64
    /// The format version the file was written in (`SnapshotFormat.version` when writing).
    public var version: UInt16

    public init(kind: SnapshotFormat.Kind, id: SnapshotID, base: SnapshotID?, sequence: UInt64, version: UInt16 = SnapshotFormat.version) {
        self.version = version
        self.kind = kind
        self.id = id
        self.base = base
        self.sequence = sequence
    }

    public func encode() -> [UInt8] {
        var w = LittleEndianBytes()
        w.bytes += SnapshotFormat.magic
        w.u16(version); w.u16(kind.rawValue); w.u32(0)
        w.bytes += id.bytes
        w.bytes += (base ?? .none).bytes
        w.u64(sequence)
        let sum = w.bytes.withUnsafeBytes { PageDigest.of($0) }
        w.u64(sum)
        return w.bytes
    }

    /// Decodes the 64 header bytes; every field is checked.
    static func decode(_ b: [UInt8]) throws(SnapshotError) -> SnapshotHeader {
        guard b.count == SnapshotFormat.headerBytes else { throw .truncated("the header") }
        guard Array(b[0..<8]) == SnapshotFormat.magic else { throw .notASnapshot }
        let stored = LittleEndianBytes.u64(b, at: 56)
        guard b[0..<56].withUnsafeBytes({ PageDigest.of($0) }) == stored else { throw .damaged("the header's checksum does not match") }
        let version = LittleEndianBytes.u16(b, at: 8)
        guard (SnapshotFormat.oldestReadableVersion...SnapshotFormat.version).contains(version) else { throw .unsupportedVersion(version) }
        let rawKind = LittleEndianBytes.u16(b, at: 10)
        guard let kind = SnapshotFormat.Kind(rawValue: rawKind), LittleEndianBytes.u32(b, at: 12) == 0 else {
            throw .damaged("the header names kind \(rawKind)")
        }
        let id = SnapshotID(bytes: Array(b[16..<32]))
        let base = SnapshotID(bytes: Array(b[32..<48]))
        let sequence = LittleEndianBytes.u64(b, at: 48)
        switch kind {
        case .full: guard base == .none, sequence == 0 else { throw .damaged("a full snapshot's header names a base") }
        case .incremental: guard base != .none, sequence > 0 else { throw .damaged("an incremental snapshot's header names no base") }
        }
        return SnapshotHeader(kind: kind, id: id, base: kind == .full ? nil : base, sequence: sequence, version: version)
    }
}

/// The end section's counts: a reader checks them against what it read, so a file cut at a
/// section boundary, or with a section lost, is refused.
struct SnapshotEnd: Equatable {
    var sections: UInt64
    var pages: UInt64

    func encode() -> [UInt8] {
        var w = LittleEndianBytes()
        w.u64(sections); w.u64(pages)
        return w.bytes
    }

    static func decode(_ b: [UInt8]) throws(SnapshotError) -> SnapshotEnd {
        guard b.count == 16 else { throw .damaged("the end section has \(b.count) bytes") }
        return SnapshotEnd(sections: LittleEndianBytes.u64(b, at: 0), pages: LittleEndianBytes.u64(b, at: 8))
    }
}

/// Little-endian integers into and out of byte arrays.
struct LittleEndianBytes {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }

    static func u16(_ b: [UInt8], at i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    static func u32(_ b: [UInt8], at i: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[i + $1]) << (8 * $1) } }
    static func u64(_ b: [UInt8], at i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[i + $1]) << (8 * $1) } }
}

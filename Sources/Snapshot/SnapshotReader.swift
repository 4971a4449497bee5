import MigrationWire

/// Where a reader's bytes come from: a file (`SnapshotFile`) or memory (tests, fuzzing).
public protocol SnapshotByteSource {
    /// Bytes not yet read.
    var remaining: Int { get }
    /// The next `count` bytes (`count <= remaining`, checked by the caller).
    mutating func read(_ count: Int) throws(SnapshotError) -> [UInt8]
}

/// Bytes in memory as a source.
public struct SnapshotMemorySource: SnapshotByteSource {
    private let bytes: [UInt8]
    private var at = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var remaining: Int { bytes.count - at }
    public mutating func read(_ count: Int) throws(SnapshotError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw .truncated("\(count) more bytes") }
        defer { at += count }
        return Array(bytes[at..<at + count])
    }
}

/// One section of a snapshot, decoded and checked.
public enum SnapshotSection: Equatable, Sendable {
    case config(MigrationConfig)
    case pages(slot: UInt32, [PageRecord])
    case vcpuState(index: Int, state: [UInt8])
    case deviceState(DeviceState)
}

/// Reads a snapshot section by section, checking everything before it is used: the header,
/// each section's length against its type's limit and what is left of the file before
/// anything is allocated, its checksum, that its body decodes as the message its type names
/// with no bytes left over, the order of the sections, the vCPU indexes, and the end's counts.
/// No input makes it trap, loop or allocate more than a section's limit.
public struct SnapshotReader<Source: SnapshotByteSource> {
    public let header: SnapshotHeader
    private var source: Source
    private var stage = Stage.start
    private var sections: UInt64 = 0
    private var pages: UInt64 = 0
    private var vcpus = 0

    private enum Stage { case start, pages, vcpus, end, done }

    public init(_ source: Source) throws(SnapshotError) {
        var s = source
        guard s.remaining >= SnapshotFormat.headerBytes else {
            if s.remaining >= 8, try s.read(8) != SnapshotFormat.magic { throw .notASnapshot }
            throw .truncated("the end of the header")
        }
        header = try SnapshotHeader.decode(try s.read(SnapshotFormat.headerBytes))
        self.source = s
    }

    /// The vCPU states read so far.
    public var vcpuCount: Int { vcpus }

    /// The next section, or nil once the end section has been read and checked (and the file
    /// ends there).
    public mutating func next() throws(SnapshotError) -> SnapshotSection? {
        guard stage != .done else { return nil }
        let what = "section \(sections + 1)"
        guard source.remaining >= SnapshotFormat.sectionHeaderBytes else { throw .truncated("the header of \(what)") }
        let head = try source.read(SnapshotFormat.sectionHeaderBytes)
        let rawType = LittleEndianBytes.u32(head, at: 0)
        let length = LittleEndianBytes.u64(head, at: 8)
        guard let type = SnapshotFormat.SectionType(rawValue: rawType), LittleEndianBytes.u32(head, at: 4) == 0 else {
            throw .damaged("\(what) has an unknown type \(rawType)")
        }
        guard length <= UInt64(type.maxBodyBytes) else {
            throw .damaged("\(what) (\(type.name)) claims \(length) bytes; the limit is \(type.maxBodyBytes)")
        }
        let n = Int(length)
        guard n + SnapshotFormat.checksumBytes <= source.remaining else { throw .truncated("the end of \(what) (\(type.name))") }
        let body = try source.read(n)
        let stored = LittleEndianBytes.u64(try source.read(SnapshotFormat.checksumBytes), at: 0)
        let sum = head.withUnsafeBytes { h in body.withUnsafeBytes { SnapshotFormat.checksum(header: h, body: $0) } }
        guard sum == stored else { throw .damaged("\(what) (\(type.name)): its checksum does not match") }
        sections += 1
        return try accept(type, body, what: what)
    }

    /// Checks the section's place in the order and decodes it.
    private mutating func accept(_ type: SnapshotFormat.SectionType, _ body: [UInt8], what: String) throws(SnapshotError) -> SnapshotSection? {
        switch (type, stage) {
        case (.config, .start) where header.kind == .full:
            stage = .pages
            guard case .config(let c) = try decode(body, what) else { throw wrong(what, type) }
            return .config(c)
        case (.pages, .start) where header.kind == .incremental, (.pages, .pages):
            stage = .pages
            guard case .pages(let slot, let list) = try decode(body, what) else { throw wrong(what, type) }
            pages += UInt64(list.count)
            return .pages(slot: slot, list)
        case (.vcpuState, .start) where header.kind == .incremental, (.vcpuState, .pages), (.vcpuState, .vcpus):
            stage = .vcpus
            guard case .vcpuState(let index, let state) = try decode(body, what) else { throw wrong(what, type) }
            guard index == UInt32(vcpus), vcpus < MigrationWire.maxVCPUs else {
                throw .damaged("\(what) holds the state of vCPU \(index) where vCPU \(vcpus)'s was due")
            }
            vcpus += 1
            return .vcpuState(index: Int(index), state: state)
        case (.deviceState, .vcpus):
            stage = .end
            guard case .deviceState(let d) = try decode(body, what) else { throw wrong(what, type) }
            guard d.frames.count == vcpus else { throw .damaged("the device state has \(d.frames.count) frame counters for \(vcpus) vCPU states") }
            return .deviceState(d)
        case (.end, .end):
            let end = try SnapshotEnd.decode(body)
            guard end == SnapshotEnd(sections: sections - 1, pages: pages) else {
                throw .damaged("the end section counts \(end.sections) sections and \(end.pages) pages, but \(sections - 1) and \(pages) came before it")
            }
            guard source.remaining == 0 else { throw .damaged("\(source.remaining) bytes follow the end section") }
            stage = .done
            return nil
        default:
            throw .damaged("\(what) is a \(type.name) section, which cannot come \(placeName)")
        }
    }

    private var placeName: String {
        switch stage {
        case .start: return header.kind == .full ? "first in a full snapshot (the config must)" : "first in an incremental snapshot"
        case .pages: return "after the pages"
        case .vcpus: return "after the vCPU states"
        case .end: return "after the device state (the end must)"
        case .done: return "after the end"
        }
    }

    private func decode(_ body: [UInt8], _ what: String) throws(SnapshotError) -> MigrationMessage {
        do { return try MigrationWire.decode(body) } catch { throw .damaged("\(what): \(error)") }
    }

    private func wrong(_ what: String, _ type: SnapshotFormat.SectionType) -> SnapshotError {
        .damaged("\(what) is marked \(type.name) but holds another message")
    }
}

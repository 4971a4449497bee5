#if canImport(Glibc)
import Glibc
#endif

/// A snapshot file opened for reading: its size known up front (so no section length can
/// ask for more than the file holds), read with `read(2)`, retried on `EINTR`.
public final class SnapshotFile: SnapshotByteSource {
    public let path: String
    private let fd: Int32
    private let size: Int
    private var offset = 0

    public init(path: String) throws(SnapshotError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotError.io("cannot open: \(SnapshotFile.errnoText())").in(path) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SnapshotError.io("not a regular file").in(path)
        }
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    public var remaining: Int { size - offset }

    public func read(_ count: Int) throws(SnapshotError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw .truncated("\(count) more bytes") }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            // SAFETY: `out` has `count` bytes; at most count - done are written from offset done.
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw n == 0 ? .truncated("\(count - done) more bytes (the file shrank while it was read)") : .io("read failed: \(SnapshotFile.errnoText())")
            }
            done += n
        }
        offset += count
        return out
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// A snapshot being written: into a temporary file in the destination's directory, which
/// `commit()` syncs and renames over the destination (then syncs the directory), so the path
/// holds either its old contents or the whole new snapshot, never a part. Sections are
/// written as they are made; each carries its checksum. Dropped without `commit()`, the
/// temporary file is removed.
final class SnapshotFileWriter {
    let path: String
    private let temporary: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sections: UInt64 = 0
    private(set) var bytesWritten = 0
    private static let flushBytes = 8 << 20

    init(path: String, header: SnapshotHeader) throws(SnapshotError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty, name != ".", name != ".." else { throw SnapshotError.refused("not a file name").in(path) }
        temporary = (dir.isEmpty ? "" : dir + "/") + ".\(name).\(SnapshotID.random())"
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SnapshotError.io("cannot create a file in \(dir.isEmpty ? "/" : dir): \(SnapshotFile.errnoText())").in(path) }
        buffer.reserveCapacity(Self.flushBytes + (5 << 20))
        try append(header.encode())
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporary)
        }
    }

    /// Appends one section: its header, `body`, and the checksum of both.
    func section(_ type: SnapshotFormat.SectionType, _ body: UnsafeRawBufferPointer) throws(SnapshotError) {
        var head = LittleEndianBytes()
        head.u32(type.rawValue); head.u32(0); head.u64(UInt64(body.count))
        let sum = head.bytes.withUnsafeBytes { SnapshotFormat.checksum(header: $0, body: body) }
        var tail = LittleEndianBytes()
        tail.u64(sum)
        try append(head.bytes)
        buffer.append(contentsOf: body)
        try append(tail.bytes)
        sections += 1
    }

    /// `section(_:_:)` with the bytes of `bytes` from `start` on as the body.
    func section(_ type: SnapshotFormat.SectionType, _ bytes: [UInt8], from start: Int = 0) throws(SnapshotError) {
        var failure: SnapshotError?
        bytes.withUnsafeBytes { b in
            do throws(SnapshotError) { try section(type, UnsafeRawBufferPointer(rebasing: b[start...])) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes what is buffered, syncs the file, renames it over `path` and syncs the directory.
    func commit() throws(SnapshotError) {
        try flush()
        guard fsync(fd) == 0 else { throw SnapshotError.io("fsync failed: \(SnapshotFile.errnoText())").in(path) }
        close(fd)
        fd = -1
        guard rename(temporary, path) == 0 else {
            let why = SnapshotFile.errnoText()
            unlink(temporary)
            throw SnapshotError.io("cannot rename the new snapshot into place: \(why)").in(path)
        }
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) } // the rename is durable once the directory is synced
    }

    private func append(_ bytes: [UInt8]) throws(SnapshotError) {
        buffer += bytes
        if buffer.count >= Self.flushBytes { try flush() }
    }

    private func flush() throws(SnapshotError) {
        var done = 0
        while done < buffer.count {
            // SAFETY: reads buffer.count - done bytes of `buffer` from offset done.
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, buffer.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SnapshotError.io("write failed: \(SnapshotFile.errnoText())").in(path) }
            done += n
        }
        bytesWritten += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }
}

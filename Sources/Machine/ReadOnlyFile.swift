#if canImport(Glibc)
import Glibc
#endif

/// A regular file opened for reading, as guest images and boot modules are: opened without
/// waiting (a FIFO must not block the open; it is refused as not a regular file), its size
/// taken once, and read at offsets with EINTR retried. A failure is the reason for the
/// user's one line; the caller names the file and the error type.
final class ReadOnlyFile {
    let size: UInt64
    private let fd: Int32

    init(path: String) throws(ReadOnlyFile.Failure) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw Failure(reason: Self.openFailure(errno)) }
        var info = stat()
        let reason: String? = if fstat(fd, &info) != 0 {
            Self.errnoText(errno)
        } else {
            switch info.st_mode & S_IFMT {
            case S_IFREG: nil
            case S_IFDIR: "it is a directory"
            default: "it is not a regular file"
            }
        }
        if let reason { close(fd); throw Failure(reason: reason) }
        size = UInt64(info.st_size)
    }

    deinit { close(fd) }

    struct Failure: Error {
        let reason: String
        /// The file ended `done` bytes into a read (it shrank since it was opened).
        var shrankAt: UInt64?
    }

    /// `count` bytes from `offset`.
    func read(at offset: UInt64, count: Int) throws(ReadOnlyFile.Failure) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw Failure(reason: Self.errnoText(errno)) }
            guard n > 0 else { throw Failure(reason: "it shrank to \(offset + UInt64(done)) bytes while being read", shrankAt: offset + UInt64(done)) }
            done += n
        }
        return out
    }

    static func errnoText(_ code: Int32) -> String { "\(String(cString: strerror(code))) (errno \(code))" }

    static func openFailure(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case ENOTDIR: return "not a directory (ENOTDIR): a name before a '/' in the path is a file, not a directory"
        case EACCES: return "permission denied (EACCES)"
        default: return errnoText(code)
        }
    }
}

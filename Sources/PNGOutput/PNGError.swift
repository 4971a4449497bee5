#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why PNG output failed. Each description is the one line the user sees, naming the path
/// and what to do about it.
public enum PNGError: Error, Equatable, CustomStringConvertible {
    /// The `--png` directory does not exist.
    case directoryMissing(path: String)
    /// The `--png` path exists but is not a directory.
    case notADirectory(path: String)
    /// A probe file could not be created in the `--png` directory (`errno` from `open`).
    case directoryNotWritable(path: String, errno: Int32)
    /// Writing or renaming one PNG file failed (`errno`, and the step that failed in `message`).
    case writeFailed(path: String, errno: Int32, message: String)

    public var description: String {
        switch self {
        case .directoryMissing(let path):
            return "cannot write PNG files into \(path): directory does not exist (create it or choose another --png directory)"
        case .notADirectory(let path):
            return "cannot write PNG files into \(path): not a directory (choose a directory for --png)"
        case .directoryNotWritable(let path, let code):
            return "cannot write PNG files into \(path): \(errnoText(code)) (make it writable or choose another --png directory)"
        case .writeFailed(let path, let code, let message):
            return "cannot write PNG file \(path): \(message) (\(hint(for: code)))"
        }
    }
}

/// `strerror` text for `code`.
func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// What the user can do about a failed file write.
private func hint(for code: Int32) -> String {
    switch code {
    case ENOSPC, EDQUOT: return "free some disk space or choose another --png directory"
    case EROFS, EACCES, EPERM: return "make the directory writable or choose another --png directory"
    case ENOENT, ENOTDIR: return "the --png directory disappeared; recreate it"
    default: return "check the --png directory"
    }
}

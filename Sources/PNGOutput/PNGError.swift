#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why PNG output failed. Each description is the one line the user sees, naming the path
/// and what to do about it.
public enum PNGError: Error, Equatable, CustomStringConvertible {
    /// The `--png` path, or a directory above it, exists but is not a directory.
    case notADirectory(path: String)
    /// `directory`, the `--png` path or one of its parents, is missing and `mkdir` failed
    /// (`errno` from `mkdir`, or from `stat` when even looking failed).
    case cannotCreateDirectory(path: String, directory: String, errno: Int32)
    /// A probe file could not be created in the `--png` directory (`errno` from `open`).
    case directoryNotWritable(path: String, errno: Int32)
    /// Writing or renaming one PNG file failed (`errno`, and the step that failed in `message`).
    case writeFailed(path: String, errno: Int32, message: String)

    public var description: String {
        switch self {
        case .notADirectory(let path):
            return "cannot write PNG files into \(path): it, or a directory above it, is a file, not a directory (ENOTDIR) (choose a directory for --png)"
        case .cannotCreateDirectory(let path, let directory, let code):
            return "cannot write PNG files into \(path): cannot create directory \(directory): \(errnoText(code)) (choose another --png directory)"
        case .directoryNotWritable(let path, let code):
            return "cannot write PNG files into \(path): the directory is not writable: creating a file in it failed with \(errnoText(code)) "
                + "(make it writable or choose another --png directory)"
        case .writeFailed(let path, let code, let message):
            return "cannot write PNG file \(path): \(message) (\(hint(for: code)))"
        }
    }
}

/// `strerror` text for `code`, with its name: `Read-only file system (EROFS)`.
func errnoText(_ code: Int32) -> String {
    let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EIO: "EIO", EACCES: "EACCES", EEXIST: "EEXIST", ENOTDIR: "ENOTDIR",
        EISDIR: "EISDIR", ENOSPC: "ENOSPC", EROFS: "EROFS", ELOOP: "ELOOP", ENAMETOOLONG: "ENAMETOOLONG", EDQUOT: "EDQUOT",
    ]
    return String(cString: strerror(code)) + " (" + (names[code] ?? "errno \(code)") + ")"
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

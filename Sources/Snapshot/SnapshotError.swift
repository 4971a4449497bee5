/// Why a snapshot could not be written or restored. `description` is the one line the user
/// sees; the file's path is added by the caller that knows it (`SnapshotError.in(_:)`).
public enum SnapshotError: Error, Equatable, CustomStringConvertible {
    /// The file does not start with the snapshot magic.
    case notASnapshot
    case unsupportedVersion(UInt16)
    /// The file ends before `what`.
    case truncated(String)
    /// A checksum or a field does not match.
    case damaged(String)
    /// The file is sound but cannot continue this chain or fit this machine.
    case mismatch(String)
    /// Opening, reading, writing, syncing or renaming failed (the operation and errno's text).
    case io(String)
    /// The request cannot be carried out now or here (e.g. an incremental snapshot without a base).
    case refused(String)
    /// `FILE: <error>`: the file the error is about.
    indirect case file(String, SnapshotError)

    public var description: String {
        switch self {
        case .notASnapshot: return "not a Ringside snapshot (bad magic)"
        case .unsupportedVersion(let v): return "snapshot format version \(v) is not the supported version \(SnapshotFormat.version)"
        case .truncated(let what): return "truncated: the file ends before \(what)"
        case .damaged(let what): return "damaged: \(what)"
        case .mismatch(let what): return what
        case .io(let what): return what
        case .refused(let what): return what
        case .file(let path, let e): return "\(path): \(e)"
        }
    }

    /// This error, about the file at `path` (unless it names one already).
    func `in`(_ path: String) -> SnapshotError {
        if case .file = self { return self }
        return .file(path, self)
    }
}

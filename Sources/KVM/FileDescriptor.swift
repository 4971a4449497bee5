#if canImport(Glibc)
import Glibc
#endif

/// Owns one file descriptor and closes it on deinit.
final class OwnedFD: @unchecked Sendable {
    let raw: Int32
    init(_ raw: Int32) { self.raw = raw }
    deinit { close(raw) }
}

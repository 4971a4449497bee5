#if canImport(Glibc)
import Glibc
#endif

/// Owns one file descriptor and closes it on deinit. Immutable, so checked `Sendable`.
final class OwnedFD: Sendable {
    let raw: Int32
    init(_ raw: Int32) { self.raw = raw }
    deinit { close(raw) }
}

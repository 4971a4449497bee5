#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// The control socket's path: checked before binding (a stale socket of ours, left by a run
/// that was killed, is removed; anything else there is refused), made owner-only (0600) at
/// once after binding, and removed at the end only if it is still the socket this run made.
enum ControlSocketPath {
    /// sun_path holds 108 bytes with the terminating NUL.
    static let maxBytes = 107

    /// Refuses a path that cannot be ours; removes a stale socket of ours.
    static func prepare(_ path: String) throws(ControlError) {
        guard path.utf8.count <= maxBytes else {
            throw ControlError("--control \(path): the path is \(path.utf8.count) bytes, longer than a Unix socket's \(maxBytes): choose a shorter one")
        }
        guard !path.isEmpty else { throw ControlError("--control needs a path") }
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw ControlError("--control \(path): \(errnoText())")
        }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw ControlError("--control \(path) exists and is not a socket: remove it or choose another path")
        }
        guard st.st_uid == geteuid() else {
            throw ControlError("--control \(path) is a socket of another user: choose another path")
        }
        switch probe(path) {
        case .listening:
            throw ControlError("--control \(path) is in use: another process listens on it (a running ringside? 'ringside ctl \(path) status' asks it)")
        case .stale:
            guard unlink(path) == 0 || errno == ENOENT else { throw ControlError("--control \(path): cannot remove the stale socket: \(errnoText())") }
        case .other(let why):
            throw ControlError("--control \(path): \(why)")
        }
    }

    private enum Probe { case listening, stale, other(String) }

    /// Whether something accepts connections on the socket at `path`.
    private static func probe(_ path: String) -> Probe {
        do {
            let channel = try ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(unixDomainSocketPath: path).wait()
            channel.close(promise: nil)
            return .listening
        } catch let e as IOError where e.errnoCode == ECONNREFUSED {
            return .stale
        } catch let e as IOError {
            return .other(String(cString: strerror(e.errnoCode)))
        } catch {
            return .other("\(error)")
        }
    }

    /// Makes the bound socket owner-only and returns its identity (device, inode).
    static func restrict(_ path: String) throws(ControlError) -> (dev: UInt64, ino: UInt64) {
        guard chmod(path, 0o600) == 0 else { throw ControlError("--control \(path): cannot make it owner-only: \(errnoText())") }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw ControlError("--control \(path): \(errnoText())") }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Removes the socket if `path` still names the one this run made.
    static func remove(_ path: String, identity: (dev: UInt64, ino: UInt64)) {
        var st = stat()
        guard lstat(path, &st) == 0, UInt64(st.st_dev) == identity.dev, UInt64(st.st_ino) == identity.ino else { return }
        unlink(path)
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

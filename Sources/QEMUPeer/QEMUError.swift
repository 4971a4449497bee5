/// What can go wrong running a guest under QEMU. Each description is the one line the user sees.
public enum QEMUError: Error, CustomStringConvertible, Equatable {
    /// `qemu-system-x86_64` is not on PATH.
    case qemuMissing
    /// A file QEMU needs (qboot, the boot stub) is not where it should be.
    case fileMissing(what: String, path: String, remedy: String)
    /// A setting QEMU or the stub cannot honour.
    case unsupported(String)
    /// A system call failed.
    case system(operation: String, errno: Int32)
    /// QEMU exited before the guest ran; `lastLines` is the end of what it printed.
    case qemuExited(status: Int32, lastLines: [String])
    /// QEMU did not get as far as `what` before the deadline.
    case timedOut(what: String, seconds: Double)
    /// The stub refused the image or the machine (its console line).
    case refused(String)
    /// QMP answered a command with an error.
    case qmp(command: String, message: String)
    /// The QMP connection broke or said something that is not QMP.
    case qmpProtocol(String)
    /// The guest's RAM could not be found or read in the VMM process.
    case guestMemory(String)

    public var description: String {
        switch self {
        case .qemuMissing:
            return "qemu-system-x86_64 was not found on PATH: install QEMU (Debian: apt-get install qemu-system-x86)"
        case .fileMissing(let what, let path, let remedy):
            return "\(what) not found at \(path): \(remedy)"
        case .unsupported(let why):
            return why
        case .system(let operation, let errno):
            return "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
        case .qemuExited(let status, let lastLines):
            let tail = lastLines.last.map { ": \($0)" } ?? ""
            return "QEMU exited with status \(status) before the guest ran\(tail)"
        case .timedOut(let what, let seconds):
            return "QEMU did not \(what) within \(Int(seconds)) s"
        case .refused(let line):
            return line
        case .qmp(let command, let message):
            return "QEMU refused \(command): \(message)"
        case .qmpProtocol(let why):
            return "QEMU's QMP connection: \(why)"
        case .guestMemory(let why):
            return "reading the guest's memory: \(why)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How a guest's run under QEMU ended, as `ringside qemu` reports it.
public enum QEMURunOutcome: Sendable, Equatable {
    /// The stub holds the guest at its `frames` doorbell: the framebuffer is frame N.
    case stoppedAtFrame(Int)
    /// The guest wrote `status` to its exit port; QEMU exited with `(status << 1) | 1`.
    case guestExited(status: Int32)
    /// An exception the stub does not handle.
    case crashed(StubState.Crash)
    /// The stub refused the image or the machine (its console line).
    case refused(String)
    /// `stop()` returned true: the guest was running (QEMU still is).
    case stopRequested(frames: UInt64)
    /// QEMU ended for another reason (killed, or an error it printed).
    case qemuExited(status: Int32, lastLines: [String])
}

extension QEMUInstance {
    /// Watches the guest until one of the outcomes (every 10 ms: reading the state page is
    /// one `process_vm_readv`). `stop` is asked at each look.
    public func run(until stop: () -> Bool) -> QEMURunOutcome {
        var started = false
        while true {
            if let status = process.exitStatus {
                if let line = lastStubLine { return .refused(line) } // the loader refuses with a line, then exits
                if Self.isGuestExit(status, guestRan: started, errorLines: process.lastErrorLines) { return .guestExited(status: status >> 1) }
                return .qemuExited(status: status, lastLines: process.lastErrorLines)
            }
            if let s = stubState {
                switch s.phase {
                case .running: started = true
                case .stopped: return .stoppedAtFrame(Int(s.stopFrame))
                case .crashed: if let c = s.crash { return .crashed(c) }
                default: break
                }
            }
            if stop() { return .stopRequested(frames: guestRAM?.frames ?? 0) }
            usleep(10_000)
        }
    }

    /// After the guest stopped at its frame: keeps QEMU (and its VNC server) up until `stop`
    /// returns true (nil) or QEMU exits (its status).
    public func hold(until stop: () -> Bool) -> Int32? {
        while true {
            if let status = process.exitStatus { return status }
            if stop() { return nil }
            usleep(10_000)
        }
    }
}

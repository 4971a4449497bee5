#if canImport(Glibc)
import Glibc
#endif

/// How a vCPU is kicked out of `KVM_RUN`: `immediate_exit` covers a thread about to enter,
/// this signal one already inside. Its handler does nothing; installed without `SA_RESTART`,
/// it only makes the ioctl return `EINTR`.
enum KickSignal {
    static let number = SIGUSR1

    /// Installs the handler (once per process).
    static func install() { _ = installOnce }

    private static let installOnce: Void = {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(number, &action, nil)
    }()
}

import ArgumentParser
import Control
import Foundation
import GuestSession

/// `--control PATH`: the control socket of `ringside run` and `ringside receive` (docs/control.md).
struct ControlOptions: ParsableArguments {
    @Option(name: .customLong("control"),
            help: ArgumentHelp("Listen for `ringside ctl PATH COMMAND` on a Unix socket at PATH (owner-only; a stale socket left there by a killed ringside is replaced, anything else there is refused).",
                               valueName: "path"))
    var path: String?

    /// Binds the socket (before the guest exists: `status` says `waiting` until `attach`, and
    /// `quit` ends a `receive` still waiting as a signal would).
    func start(waiting: String, receiving: Bool) throws -> ControlServer? {
        guard let path else { return nil }
        let quit: (@Sendable () -> Void)? = receiving ? { @Sendable () -> Void in Self.quitWhileWaiting(path) } : nil
        return try ControlServer.start(path: path, waiting: waiting, quitWhileWaiting: quit)
    }

    private static func quitWhileWaiting(_ path: String) -> Never {
        unlink(path)
        Console.error("quit: no guest was received")
        Foundation.exit(1)
    }
}

/// `ringside run --restore FILE [--restore FILE ...]`.
enum RestoreOptions {
    /// `ringside run` options that describe the guest, which a snapshot holds instead.
    static let guestOptions = ["--guest", "--args", "--cpus", "--width", "--height", "--max-framebuffer", "--pitch", "--memory",
                               "--guest-hz", "--module", "--guest-abi"]

    /// Refuses a guest option given with --restore (they have defaults, so only the command line tells).
    static func check(_ arguments: [String]) throws {
        for a in arguments {
            if a == "--" { break }
            let name = String(a.split(separator: "=", maxSplits: 1).first ?? Substring(a))
            if guestOptions.contains(name) {
                throw Failure("\(name) cannot be used with --restore: the snapshot holds the guest (its image, arguments, geometry, RAM, vCPUs and pacing)")
            }
        }
    }
}

import ArgumentParser
import Foundation
import Input
import Machine

/// Keyboard and pointer input options shared by `run` and `receive`.
struct InputOptions: ParsableArguments {
    @Option(name: .customLong("input-script"),
            help: ArgumentHelp("Play input events from FILE, each at the guest frame it names, e.g. '120 key down KEY_A', '130 pointer 400 300', '131 button down left', '132 wheel -1', '140 type hello\\n' (see the README). Checked before boot.",
                               valueName: "file"))
    var inputScript: String?
    @Flag(name: .customLong("log-input"), help: "Print each input event as it goes to the guest, with the frame that sees it, and a count at the end.")
    var logInput = false

    /// The script, read and checked; one `FILE:LINE: what was expected` line when it is bad.
    func loadScript() throws -> InputScript? {
        guard let path = inputScript else { return nil }
        return try InputScript(contentsOf: path)
    }
}

extension GuestInputQueue {
    /// The end-of-run line of `--log-input` and `--input-script`.
    var summary: String {
        let s = stats
        let waiting = waitingEvents.count
        return "input: \(s.delivered) events delivered to the guest's queue, \(waiting) waiting for room, \(s.coalescedMotions) pointer motions coalesced"
            + (guestReadsInput ? "" : " (the guest does not say it reads input)")
    }
}

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
        do { return try InputScript(contentsOf: path) } catch { throw Failure(error.description) }
    }
}

/// Prints each event on its way to the guest's queue (`--log-input`): `input: frame 121: key down KEY_A`,
/// where the frame is the first one vCPU 0 starts after the push.
final class LoggedInputSink: InputSink, @unchecked Sendable {
    private let machine: Machine
    init(machine: Machine) { self.machine = machine }

    func push(_ event: InputEvent) {
        let frame = (machine.frameCounts.first ?? 0) + 1
        Console.out("input: frame \(frame): \(event.scriptText)")
        machine.input.push(event)
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

/// Starts `--input-script`: the events of frames up to the next one vCPU 0 starts go in now,
/// the rest from its doorbells (`InputScriptPlayer.frameDone`). Warns about events that a
/// `--frames` limit will never reach.
func startInputScript(_ script: InputScript, path: String, sink: any InputSink, machine: Machine, frameLimit: Int?) -> InputScriptPlayer {
    let player = InputScriptPlayer(script: script, sink: sink, lastFrame: frameLimit)
    if let frameLimit, case let late = player.count(after: frameLimit), late > 0 {
        Console.error("warning: --input-script \(path): \(late) event\(late == 1 ? " is" : "s are") for frames after --frames \(frameLimit) and will not reach the guest")
    }
    player.start(firstFrame: (machine.frameCounts.first ?? 0) + 1)
    return player
}

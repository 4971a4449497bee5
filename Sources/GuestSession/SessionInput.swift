import Input
import Machine

/// `logInput`: reports each event on its way to the guest's queue, with the frame that will
/// see it: the first one vCPU 0 starts after the push.
final class LoggedInput: InputSink, Sendable {
    private let machine: Machine
    private let events: SessionEvents
    init(machine: Machine, events: SessionEvents) {
        self.machine = machine
        self.events = events
    }

    func push(_ event: InputEvent) {
        events.inputLogged((machine.frameCounts.first ?? 0) + 1, event)
        machine.input.push(event)
    }
}

extension InputScriptPlayer {
    /// Starts `script` into `sink`: the events of frames up to the next one vCPU 0 starts go
    /// in now, the rest from its doorbells (`frameDone`). Warns about events that the last
    /// frame (`frameLimit`) will never reach.
    static func started(_ script: InputScript, sink: any InputSink, machine: Machine, frameLimit: Int?,
                        events: SessionEvents) -> InputScriptPlayer {
        let player = InputScriptPlayer(script: script, sink: sink, lastFrame: frameLimit)
        if let frameLimit, case let late = player.count(after: frameLimit), late > 0 {
            events.warning(.scriptEventsAfterLastFrame(count: late, lastFrame: frameLimit))
        }
        player.start(firstFrame: (machine.frameCounts.first ?? 0) + 1)
        return player
    }
}

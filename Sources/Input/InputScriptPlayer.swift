import Synchronization

/// Plays an `InputScript` into a sink by guest frame: the events of frame N must be in the
/// guest's queue when it starts frame N. Its owner calls `start()` before the guest runs
/// (frames 0 and 1) and `frameDone(cpu:frame:)` at every frame doorbell; at vCPU 0's doorbell
/// of frame N - 1, while that vCPU is still outside the guest, the events of frame N are
/// pushed. vCPU 0 is the clock because its frames are the ones the guest's input reader
/// counts; events of frames that have already passed (a received guest, a script that starts
/// in the past) are pushed at the next doorbell.
public final class InputScriptPlayer: Sendable {
    private let script: InputScript
    private let sink: any InputSink
    private let lastFrame: Int
    /// The index of the first entry not pushed yet. Held while pushing, so two doorbells
    /// never push the same events or reorder them.
    private let next = Mutex(0)

    /// `lastFrame`: the last frame the guest will run (`--frames`); later events are never pushed.
    public init(script: InputScript, sink: any InputSink, lastFrame: Int? = nil) {
        self.script = script
        self.sink = sink
        self.lastFrame = lastFrame ?? Int.max
    }

    /// Before the guest runs: pushes the events of every frame up to `firstFrame` (1 for a
    /// booted guest: frames count from 1).
    public func start(firstFrame: Int = 1) {
        push(through: firstFrame)
    }

    /// At a frame doorbell, before the machine moves waiting events into the queue: vCPU 0
    /// finishing frame `frame` pushes the events of frame `frame + 1`.
    public func frameDone(cpu: Int, frame: Int) {
        guard cpu == 0 else { return }
        push(through: frame + 1)
    }

    /// Events not pushed yet.
    public var remaining: Int {
        script.entries.count - next.withLock { $0 }
    }

    /// Events of frames after `frame` (never pushed by a run that stops at `frame`).
    public func count(after frame: Int) -> Int {
        script.entries.count - script.entries(in: 0...frame).count
    }

    private func push(through frame: Int) {
        let entries = script.entries
        let frame = min(frame, lastFrame)
        next.withLock { next in
            while next < entries.count, entries[next].frame <= frame {
                sink.push(entries[next].event)
                next += 1
            }
        }
    }
}

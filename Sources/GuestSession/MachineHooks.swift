import Input
import Machine
import Synchronization
import Tracking

/// What the machine's events drive in a running guest: a frame doorbell stamps the tracking
/// session's latency clock, pokes the sync loop, plays the input script and may start a
/// migration; in lockstep every vCPU's doorbell writes the PNG file of that frame. The parts
/// exist only after the machine is built, so they are attached once they do (always before
/// the vCPUs could use them, except the input player, which is started after a hand-over).
/// The machine's events refer to it weakly: it holds the session, so its owner must hold it.
final class MachineHooks: Sendable {
    private struct Parts {
        var tracking: TrackingSession?
        var refresher: SyncLoop?
        var player: InputScriptPlayer?
    }
    private let parts = Mutex(Parts())
    private let events: SessionEvents
    private let dumps: FrameDumps?
    private let migrationTrigger: MigrationTrigger?
    private let atFrame: Int?
    private let refusals = ModeRefusals()

    init(events: SessionEvents, dumps: FrameDumps?, migration: OutgoingMigration?, trigger: MigrationTrigger?) {
        self.events = events
        self.dumps = dumps
        atFrame = migration?.atFrame
        migrationTrigger = trigger
    }

    func attach(_ tracking: TrackingSession) { parts.withLock { $0.tracking = tracking } }
    func attach(_ refresher: SyncLoop) { parts.withLock { $0.refresher = refresher } }
    func attach(_ player: InputScriptPlayer) { parts.withLock { $0.player = player } }

    /// The machine's events; `lockstep` sends each frame to the PNG files.
    func machineEvents(lockstep: Bool) -> MachineEvents {
        var m = MachineEvents()
        m.consoleLine = { [weak self] cpu, line in
            guard let self else { return }
            let cpus = parts.withLock { $0.tracking?.machine.config.cpus } ?? 1
            events.consoleLine(cpu, cpus, line)
        }
        m.frameDone = { [weak self] cpu, frame in self?.frameDone(cpu: cpu, frame: frame) }
        if lockstep, let dumps { m.allFramesDone = { [weak dumps] frame in dumps?.frameCompleted(frame) } }
        m.modeRefused = { [weak self] cpu, why in
            guard let self, refusals.isNew(why) else { return }
            events.warning(.modeRefused(cpu: cpu, reason: why))
        }
        return m
    }

    private func frameDone(cpu: Int, frame: Int) {
        let p = parts.withLock { $0 }
        p.tracking?.noteDoorbell()
        p.refresher?.poke()
        if let atFrame, cpu == 0, frame == atFrame { migrationTrigger?.signal() }
        p.player?.frameDone(cpu: cpu, frame: frame) // before the machine delivers input for the next frame
    }
}

/// Which refused display modes were reported: each distinct refusal is reported once, and
/// at most 16, so a guest retrying a bad mode every frame cannot flood the terminal.
final class ModeRefusals: Sendable {
    private let seen = Mutex(Set<String>())
    func isNew(_ why: String) -> Bool {
        seen.withLock { seen in
            guard seen.count < 16 else { return false }
            return seen.insert(why).inserted
        }
    }
}

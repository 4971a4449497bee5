import KVM
import LiveMigration
import Machine
import Snapshot
import Tracking

extension GuestSession {
    /// Builds a session around a guest restored from snapshot files (a full one, then
    /// incremental ones in order; `SnapshotRestore`), with the machine config the full one
    /// describes and this side's settings; `start()` starts it from where the last file left
    /// it. `--frames N` counts from the guest's first frame, so N must be after the snapshot's.
    public static func restore(system: KVMSystem, caps: HostCapabilities, files: [String], settings: SessionSettings,
                               events: SessionEvents) throws -> (GuestSession, SnapshotRestore.Restored) {
        let wiring = try Wiring(settings: settings, caps: caps, events: events)
        let restored = try SnapshotRestore.restore(files: files) { wire, image in
            try incomingTracking(try wire.machineConfig(image: image), system: system, caps: caps, wiring: wiring, settings: settings)
        }
        let frames = restored.session.machine.framesCompletedByEveryVCPU
        if let limit = settings.frames, limit <= frames {
            throw GuestControlError("--frames \(limit) is not after the snapshot's frame \(frames): a restored guest counts on from its frames, so give a larger N")
        }
        let session = GuestSession(tracking: restored.session, settings: settings, events: events, wiring: wiring,
                                   imageBytes: restored.config.image, startsMachine: true)
        return (session, restored)
    }
}

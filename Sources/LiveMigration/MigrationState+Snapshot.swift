import Machine
import MigrationWire
import Tracking

// The migration stream's descriptions of a machine, for the other writer of the same
// messages: snapshots to disk (Sources/Snapshot) store the config, the vCPU states and the
// device state exactly as a migration sends them, and restore them through the same checks.

extension MigrationConfig {
    /// What a source would send for `session`'s guest now (its image file's `bytes`).
    public static func describing(_ session: TrackingSession, image: GuestImage, bytes: [UInt8]) -> MigrationConfig {
        MigrationConfig(source: session, image: image, bytes: bytes, verify: false)
    }
}

extension DeviceState {
    /// The device state of a paused machine, as a source sends it at the hand-over.
    public static func describing(pausedMachine machine: Machine) -> DeviceState {
        DeviceState(pausedMachine: machine)
    }

    /// The state to restore into a machine of `vcpuCount` vCPUs, or why it does not fit (the
    /// destination's checks).
    public func restorable(vcpuCount: Int) throws(MigrationError) -> MachineDeviceState {
        try machineState(vcpuCount: vcpuCount)
    }
}

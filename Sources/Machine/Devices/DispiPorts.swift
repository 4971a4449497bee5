import Dispatch
import Synchronization

/// The DISPI mode-setting ports (index 0x1CE, data 0x1CF) on the bus: `DispiDevice`'s
/// registers, the mode in force and a count of mode sets for the display. A new mode is
/// written into every vCPU's boot info before the `out` completes, so the guest's `out`
/// finishes with the boot info already describing it.
final class DispiPorts: PortDevice {
    let ports = DispiDevice.indexPort...DispiDevice.dataPort
    let state: Mutex<DisplayModeState>
    private let bootInfo: GuestWriter
    private let cpus: Int
    private let modeSet: (@Sendable (_ cpu: Int, _ mode: DisplayMode) -> Void)?
    private let modeRefused: (@Sendable (_ cpu: Int, _ reason: String) -> Void)?

    init(device: DispiDevice, cpus: Int, bootInfo: GuestWriter, events: MachineEvents) {
        precondition(DispiDevice.dataPort == DispiDevice.indexPort + 1, "DISPI's ports are a pair")
        state = Mutex(DisplayModeState(device: device))
        self.bootInfo = bootInfo
        self.cpus = cpus
        modeSet = events.modeSet
        modeRefused = events.modeRefused
    }

    func read(port: UInt16, cpu: Int, data: inout PortData) {
        data.value = state.withLock { port == DispiDevice.dataPort ? $0.device.readData : $0.device.readIndex }
    }

    func write(port: UInt16, cpu: Int, data: PortData) -> PortAction {
        guard port == DispiDevice.dataPort else {
            state.withLock { $0.device.writeIndex(data.value) }
            return .none
        }
        let effect: DispiDevice.Effect = state.withLock { d in
            let e = d.device.writeData(data.value)
            if case .modeSet(let mode) = e {
                d.serial += 1
                d.setAtNanos = DispatchTime.now().uptimeNanoseconds
                BootSetup.writeMode(mode, cpus: cpus, with: bootInfo)
            }
            return e
        }
        switch effect {
        case .none: break
        case .modeSet(let mode): modeSet?(cpu, mode)
        case .refused(let why): modeRefused?(cpu, why)
        }
        return .none
    }

    /// The mode in force, how many mode sets the guest made, and when the last was.
    var snapshot: DisplayModeState.Snapshot { state.withLock { $0.snapshot } }

    /// Why `mode` (a migration source's) cannot be put in force here, or nil.
    func problem(restoring mode: DisplayMode) -> String? {
        state.withLock { d in
            guard mode != d.device.mode else { return nil }
            if let why = d.device.problem(width: UInt32(clamping: mode.width), height: UInt32(clamping: mode.height), bpp: 32,
                                          virtWidth: UInt32(clamping: mode.pitch / 4), xOffset: 0, yOffset: 0) {
                return "the source's display \(why)"
            }
            guard mode.pitch % 4 == 0, mode.pitch >= mode.width * 4 else { return "the source's display mode \(mode) has a bad pitch" }
            return nil
        }
    }

    /// Puts `mode` in force (checked with `problem(restoring:)`, before `start()`; the boot
    /// info came with the RAM). Counts as a mode set, so the display follows it at its first sync.
    func restore(_ mode: DisplayMode) {
        state.withLock { d in
            guard mode != d.device.mode else { return }
            let dev = d.device
            d.device = DispiDevice(mode: mode, maxWidth: dev.maxWidth, maxHeight: dev.maxHeight, slotBytes: dev.slotBytes)
            d.serial += 1
        }
    }
}

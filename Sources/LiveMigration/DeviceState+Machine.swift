import Input
import Machine
import MigrationWire

extension DeviceState {
    /// The device state of a paused machine: frame counters, the guest clock, unfinished
    /// console lines, the mode in force (the guest may have set one during the pre-copy) and
    /// the input waiting in the VMM.
    init(pausedMachine machine: Machine) {
        let waiting = machine.input.waitingEvents.prefix(MigrationWire.maxWaitingInput).map { e in
            let f = GuestInputQueue.abiFields(e)
            return WaitingInputEvent(type: f.type, code: f.code, value: f.value, x: f.x, y: f.y)
        }
        self.init(frames: machine.frameCounts.map { UInt64($0) }, uptimeNanos: machine.uptimeNanos, waitingInput: waiting)
        consoleUnfinished = machine.consoleUnfinished.map { Array(($0 ?? "").utf8.prefix(MigrationWire.maxConsoleBytes)) }
        let mode = machine.displayMode.mode
        (modeWidth, modeHeight, modePitch) = (UInt32(mode.width), UInt32(mode.height), UInt32(mode.pitch))
    }

    /// The largest frame counter a destination counts on from: 2^48 frames are nearly 9000
    /// years at 1000 frames a second, and 64 vCPUs' counts still add up without overflow.
    static let maxFrameCount: UInt64 = 1 << 48

    /// The state to restore into a machine of `vcpuCount` vCPUs, or why it does not fit.
    func machineState(vcpuCount: Int) throws(MigrationError) -> MachineDeviceState {
        guard frames.count == vcpuCount else {
            throw .protocolError("\(frames.count) frame counters for \(vcpuCount) vCPUs")
        }
        for (i, f) in frames.enumerated() where f > Self.maxFrameCount {
            throw .protocolError("vCPU \(i)'s frame counter \(f) is out of range (at most 2^48)")
        }
        var state = MachineDeviceState(frameCounts: frames.map { Int($0) }, uptimeNanos: uptimeNanos,
                                       consoleUnfinished: consoleUnfinished)
        for (i, e) in waitingInput.enumerated() {
            guard let event = GuestInputQueue.event(type: e.type, code: e.code, value: e.value, x: e.x, y: e.y) else {
                throw .protocolError("waiting input event \(i) is not an event (type \(e.type), code \(e.code), value \(e.value))")
            }
            state.inputWaiting.append(event)
        }
        if modeWidth != 0 || modeHeight != 0 {
            state.displayMode = DisplayMode(width: Int(modeWidth), height: Int(modeHeight), pitch: Int(modePitch))
        }
        return state
    }
}

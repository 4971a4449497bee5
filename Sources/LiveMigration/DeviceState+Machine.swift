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

    /// The state to restore into a machine of `vcpuCount` vCPUs, or why it does not fit.
    func machineState(vcpuCount: Int) throws(MigrationError) -> MachineDeviceState {
        guard frames.count == vcpuCount else {
            throw .protocolError("\(frames.count) frame counters for \(vcpuCount) vCPUs")
        }
        var state = MachineDeviceState(frameCounts: frames.map { Int(clamping: $0) }, uptimeNanos: uptimeNanos,
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

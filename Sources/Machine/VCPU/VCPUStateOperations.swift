import KVM

/// State operations (save or load a vCPU's state): only while the vCPU is held out of the
/// guest, and on the thread that owns it; before `start()` and after the run, on the caller's.
extension VCPUMailbox {
    /// Counts a state operation in: the vCPU stays held until `endHold()`, even if the machine
    /// is resumed or stopped meanwhile. Refused while it runs (the machine must be paused).
    func beginHold(doing what: String) throws(MachineError) {
        try box.withLock { c throws(MachineError) in
            switch c.phase {
            case .created, .ended: break
            case .parked where c.command == .pause: break
            case .parked, .running: throw .vcpuRunning(cpu: vcpu.index, operation: what)
            }
            c.holds += 1
        }
    }

    func endHold() { box.withLock { $0.holds -= 1 } }

    /// Runs `body` on the held vCPU (between `beginHold` and `endHold`): posted to its thread,
    /// or here when no thread owns it (the lock keeps `start()` out meanwhile).
    func runHeld<R: Sendable>(_ body: @escaping @Sendable (VCPU) throws(KVMError) -> R) throws(KVMError) -> R {
        let done = Monitor<Result<R, KVMError>?>(nil)
        let posted: PostedOperation<R> = box.wait { c in
            switch c.phase {
            case .created, .ended:
                return .ranHere(Result { () throws(KVMError) -> R in try body(vcpu) })
            case .parked where c.operation == nil:
                c.operation = { v in
                    let r = Result { () throws(KVMError) -> R in try body(v) }
                    done.withLock { $0 = r }
                }
                return .posted
            case .parked, .running:
                return nil // held, but not parked yet (or another operation waits its turn)
            }
        }!
        switch posted {
        case .ranHere(let r): return try r.get()
        case .posted: return try done.wait { $0 }!.get()
        }
    }
}

/// Where a state operation ran: here (no thread owns the vCPU), or posted to its thread.
private enum PostedOperation<R> {
    case ranHere(Result<R, KVMError>)
    case posted
}

extension Machine {
    /// Runs `body` on vCPU `cpu` while it is held: on its own thread when it has one (the
    /// machine must be paused), or here before `start()` and after the run ended.
    func withHeldVCPU<R: Sendable>(_ cpu: Int, doing what: String,
                                   _ body: @escaping @Sendable (VCPU) throws(KVMError) -> R) throws(MachineError) -> R {
        let mailbox = crew.mailboxes[cpu]
        try mailbox.beginHold(doing: what)
        defer { mailbox.endHold() }
        do { return try mailbox.runHeld(body) } catch { throw .kvm(error) }
    }

    /// The state of every vCPU, the RAM and framebuffer bytes, and the frame counts, taken
    /// together. The machine must be paused (or not started, or ended); the vCPUs stay held
    /// until it is done, even if `resume()` or `stop()` is called meanwhile.
    public func snapshot() throws(MachineError) -> MachineSnapshot {
        var holding: [VCPUMailbox] = []
        defer { for m in holding { m.endHold() } }
        for m in crew.mailboxes {
            try m.beginHold(doing: "take a snapshot")
            holding.append(m)
        }
        // Pushes wait in the VMM while memory is copied, so each event is in the copied ring or in `inputWaiting`.
        input.setHeld(true)
        defer { input.setHeld(false) }
        var states: [VCPUState] = []
        for m in holding {
            do { states.append(try m.runHeld { v throws(KVMError) in try v.saveState() }) } catch { throw .kvm(error) }
        }
        // Saving finished any pending I/O without running guest code, so memory is as it was.
        let mode = displayMode.mode
        return MachineSnapshot(width: mode.width, height: mode.height, pitch: mode.pitch,
                               ram: MachineSnapshot.bytes(of: ram), framebuffer: MachineSnapshot.bytes(of: framebuffer),
                               vcpus: states, frameCounts: frameCounts, inputWaiting: input.waitingEvents)
    }
}

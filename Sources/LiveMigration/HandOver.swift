import Dispatch
import KVM
import Machine
import MigrationWire
import Tracking

extension SourceAttempt {
    /// Pauses the guest for the last set, sends it, the vCPU and device state (and the
    /// digests with `verify`), and commits once the destination is ready. From the commit on
    /// the guest belongs to the destination: this side stops it and never resumes it.
    func handOver() async throws -> MigrationReport {
        var phases = PhaseClock()
        machine.pause()
        paused = true
        report.handOver.append(phases.lap("pause"))
        // From the last take to the hand-over, input waits in the VMM (no write to a page
        // already sent) and goes over in the device state.
        machine.input.setHeld(true)
        let last = try session.take(subscriber)
        let sync = phases.lap("sync")
        report.handOver.append(sync)
        taken = last
        try await sendLastSet(last, syncSeconds: sync.seconds)
        report.handOver.append(phases.lap("last set"))
        try await sendState()
        report.handOver.append(phases.lap("vCPU and device state"))
        if options.verify {
            try await pages.sendDigests()
            report.handOver.append(phases.lap("digests"))
        }
        try await connection.send(.complete)
        guard case .ready = try await connection.expect() else { throw MigrationError.protocolError("the destination did not confirm it is ready") }
        report.handOver.append(phases.lap("ready"))
        try stillRunning(machine)
        try await commit(pausedNanos: phases.sinceStart)
        report.handOver.append(phases.lap("started"))
        report.downtimeSeconds = Double(phases.sinceStart) / 1e9
        report.totalBytes = connection.bytesSent
        report.seconds = elapsed
        machine.stop()
        try? session.unsubscribe(subscriber)
        return report
    }

    /// The set taken while paused, as the last round.
    private func sendLastSet(_ last: MigrationPageSet, syncSeconds: Double) async throws {
        let (count, sent) = try await pages.send(last, skipZero: false)
        try await connection.send(.roundEnd(round: UInt32(report.rounds.count), pages: UInt64(count)))
        report.finalPages = count
        report.rounds.append(.init(number: report.rounds.count, pages: count, bytes: sent, seconds: 0, syncSeconds: syncSeconds))
    }

    /// Each vCPU's state, then the device state (counters, clock, console, mode, waiting input).
    private func sendState() async throws {
        for i in 0..<machine.vcpuCount {
            let state: VCPUState
            do { state = try machine.vcpu(i).saveState() } catch { throw MigrationError.tracking("vCPU \(i): \(error)") }
            try await connection.send(.vcpuState(index: UInt32(i), state: state.encode()))
        }
        try await connection.send(.deviceState(DeviceState(pausedMachine: machine)))
    }

    /// Commits, then waits for `started`. A failure after the commit cannot tell whether the
    /// guest runs at the destination: the guest stays stopped here and the error says so.
    private func commit(pausedNanos: UInt64) async throws {
        try await connection.send(.commit(pausedNanos: pausedNanos))
        taken = nil
        do {
            guard case .started = try await connection.expect() else { throw MigrationError.protocolError("no 'started' after commit") }
        } catch {
            machine.stop()
            throw MigrationError.outcomeUnknown("the connection failed after the source committed (\(error)); the guest is stopped here and may be running at the destination")
        }
    }
}

/// Where the downtime goes: the time of each hand-over phase since the previous one.
struct PhaseClock {
    let start = DispatchTime.now().uptimeNanoseconds
    private var mark = DispatchTime.now().uptimeNanoseconds

    /// The phase `name` ends now: its seconds since the previous lap.
    mutating func lap(_ name: String) -> (phase: String, seconds: Double) {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { mark = now }
        return (name, Double(now - mark) / 1e9)
    }

    /// Nanoseconds since the clock started (the pause).
    var sinceStart: UInt64 { DispatchTime.now().uptimeNanoseconds - start }
}

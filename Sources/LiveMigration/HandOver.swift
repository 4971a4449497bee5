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
        let readyAt = DispatchTime.now().uptimeNanoseconds
        report.handOver.append(phases.lap("ready"))
        try stillRunning(machine)
        report.downtimeSeconds = try await commit(phases: phases, readyAt: readyAt)
        let laps = report.handOver.reduce(0) { $0 + $1.seconds }
        report.handOver.append(("resumed there", max(0, report.downtimeSeconds - laps)))
        report.totalBytes = connection.bytesSent
        report.compression = pages.compressor.report
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

    /// Commits, waits for `started` and returns the downtime (`Downtime`). If the connection
    /// fails first, the paused guest stays here while the destination is asked again
    /// (`askWhatBecameOfTheGuest`): `commitLost` if it did not start the guest.
    private func commit(phases: PhaseClock, readyAt: UInt64) async throws -> Double {
        let pausedAtCommit = phases.sinceStart
        let sentAt = DispatchTime.now().uptimeNanoseconds
        taken = nil
        do {
            try await connection.send(.commit(pausedNanos: pausedAtCommit, sinceReadyNanos: sentAt - readyAt))
            guard case .started(let resume) = try await connection.receive() else { throw MigrationError.protocolError("no 'started' after commit") }
            let roundTrip = Double(DispatchTime.now().uptimeNanoseconds - sentAt) - Double(resume)
            try? await connection.send(.done)
            return Downtime.seconds(pausedAtCommitNanos: pausedAtCommit, roundTripNanos: roundTrip, resumeNanos: resume)
        } catch {
            _ = try await askWhatBecameOfTheGuest(after: error)
            return Double(phases.sinceStart) / 1e9 // at most this: the answer to the commit was lost
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

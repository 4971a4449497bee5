import Dispatch
import Foundation
import MigrationWire

extension SourceAttempt {
    /// Rounds while the guest runs: each takes the subscriber's set (a sync, then the set)
    /// and sends it, until the hand-over of what is still dirty fits the downtime budget
    /// (`HandOverEstimate`). Before the guest is paused, the destination must have written
    /// every round sent (its acknowledgements say so): pages still on their way would be
    /// downtime too. Throws `didNotConverge` when the rounds run out first.
    func preCopy() async throws {
        var round = 0
        while true {
            try stillRunning(machine)
            if connection.peerHasSpoken { try await peerHasGone() }
            let tTake = DispatchTime.now().uptimeNanoseconds
            let set = try session.take(subscriber)
            taken = set
            let t0 = DispatchTime.now().uptimeNanoseconds
            let (count, sent) = try await pages.send(set, skipZero: round == 0)
            try await connection.send(.roundEnd(round: UInt32(round), pages: UInt64(count)))
            if round == 0 { announceCompression() }
            taken = nil
            let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            report.rounds.append(.init(number: round, pages: count, bytes: sent, seconds: secs, syncSeconds: Double(t0 - tTake) / 1e9))
            roundStarts.append(t0)
            report.totalBytes = connection.bytesSent
            report.compression = pages.compressor.report
            report.seconds = elapsed
            round += 1
            roundTrip.observe(await connection.kernelLinkInfo(), bytesSent: connection.bytesSent)
            var left = pagesAtPause()
            var estimate = handOverEstimate()
            if case .handOver = budget.decide(roundsDone: round, pagesLeft: left, estimate: estimate) {
                // It would fit: once the destination has caught up, look again (the guest ran on meanwhile).
                try await waitForAcknowledgements(rounds: round)
                left = pagesAtPause()
                estimate = handOverEstimate()
            }
            let expected = estimate.seconds(pages: left)
            progress(String(format: "migration round %d: %d pages, %.1f MiB in %.3f s; %.0f MiB/s; %d pages dirty, expected downtime %.1f ms (%.1f fixed)",
                            round - 1, count, Double(sent) / 1048576, secs, report.bandwidth / 1048576, left, expected * 1000,
                            estimate.seconds(pages: 0) * 1000))
            slowIfOutrun(round: round - 1, sent: count, seconds: secs, left: left, estimate: estimate)
            MigrationControl.current?.record(.init(number: round - 1, pages: count, bytes: sent, seconds: secs, pagesLeft: left,
                                                   bytesPerSecond: report.bandwidth, expectedDowntimeSeconds: expected,
                                                   slowdownPercent: converge.percent))
            switch budget.decide(roundsDone: round, pagesLeft: left, estimate: estimate) {
            case .handOver where connection.liveness.peerLoad.rounds >= round:
                report.converged = true
                report.expectedDowntimeSeconds = expected
                return
            case .handOver, .anotherRound:
                continue
            case .giveUp(let error):
                throw error
            }
        }
    }

    /// Auto-converge: one more step of slowing the guest when the round showed it dirtying
    /// pages faster than the link takes them (`AutoConverge`), reported as a progress line.
    private func slowIfOutrun(round: Int, sent: Int, seconds: Double, left: Int, estimate: HandOverEstimate) {
        guard let step = converge.step(round: round, sent: sent, seconds: seconds, left: left, estimate: estimate,
                                       budgetSeconds: budget.maxDowntimeSeconds) else { return }
        machine.throttle.set(percent: step.percent)
        report.autoConverge.append(step.percent)
        progress(String(format: "migration auto-converge: the guest slowed by %d%% (after round %d it dirtied %.0f pages/s, the link took %.0f)",
                        step.percent, round, step.dirtyPagesPerSecond, step.linkPagesPerSecond))
    }

    /// Decides compression with what round 0 measured, if the probe has not yet, and says so.
    private func announceCompression() {
        pages.compressor.decide()
        report.compression = pages.compressor.report
        if options.compression != .off { progress("migration compression: \(report.compression.decision)") }
    }

    /// Waits until the destination has acknowledged `rounds` rounds (it has written them).
    private func waitForAcknowledgements(rounds: Int) async throws {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(options.timeout * 1e9)
        while connection.liveness.peerLoad.rounds < rounds {
            try stillRunning(machine)
            if let reason = connection.liveness.reason { throw reason }
            if connection.peerHasSpoken { try await peerHasGone() }
            guard DispatchTime.now().uptimeNanoseconds < deadline else {
                throw MigrationError.protocolError(String(format: "the destination did not acknowledge round %d within %g s", rounds - 1, options.timeout))
            }
            try await Task.sleep(nanoseconds: 500_000)
        }
    }

    /// The destination sent a message or closed the connection while nothing here was reading
    /// it: its abort is the reason, or the stream's end (closed or reset).
    private func peerHasGone() async throws -> Never {
        let m = try await connection.expect()
        throw MigrationError.protocolError("the destination sent \(m.name) during the pre-copy")
    }

    /// The hand-over as measured so far: the recent takes, the link's round trip (`LinkRoundTrip`), the
    /// rounds' service times (from starting to send a round to its acknowledgement, less
    /// the round trip, per page), and the state.
    func handOverEstimate() -> HandOverEstimate {
        let rtt = roundTrip.seconds
        let syncs = report.rounds.suffix(3).map(\.syncSeconds)
        // Compressed batches carry more pages per byte: the pages' rate is what counts.
        var perPage = Double(DowntimeBudget.bytesPerPage) / max(report.pageBandwidth, 1)
        let acks = connection.liveness.peerLoad.recent
        var previous: UInt64?
        for ack in acks {
            let r = Int(ack.round)
            defer { previous = ack.arrivedAt }
            guard r >= 1, r < roundStarts.count, ack.pages >= 64, ack.arrivedAt > roundStarts[r] else { continue }
            let began = max(roundStarts[r], previous ?? 0)
            let service = Double(ack.arrivedAt - min(began, ack.arrivedAt)) / 1e9 - rtt
            if acks.suffix(3).contains(where: { $0.round == ack.round }) { perPage = max(perPage, service / Double(ack.pages)) }
        }
        var estimate = HandOverEstimate(syncSeconds: syncs.max() ?? 0, roundTripSeconds: rtt, secondsPerPage: perPage,
                                        stateSeconds: peer.stateSeconds)
        estimate.link = roundTrip
        estimate.wireBytesPerPage = Double(DowntimeBudget.bytesPerPage) * pages.compressor.report.ratio
        return estimate
    }
}

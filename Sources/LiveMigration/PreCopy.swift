import Dispatch
import Foundation
import MigrationWire

extension SourceAttempt {
    /// Rounds while the guest runs: each takes the subscriber's set (a sync, then the set)
    /// and sends it, until what is still dirty fits the downtime budget. Throws
    /// `didNotConverge` when the rounds run out first.
    func preCopy() async throws {
        var round = 0
        while true {
            try stillRunning(machine)
            let tTake = DispatchTime.now().uptimeNanoseconds
            let set = try session.take(subscriber)
            taken = set
            let t0 = DispatchTime.now().uptimeNanoseconds
            let (count, sent) = try await pages.send(set, skipZero: round == 0)
            try await connection.send(.roundEnd(round: UInt32(round), pages: UInt64(count)))
            taken = nil
            let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            report.rounds.append(.init(number: round, pages: count, bytes: sent, seconds: secs, syncSeconds: Double(t0 - tTake) / 1e9))
            report.totalBytes = connection.bytesSent
            report.seconds = elapsed
            round += 1
            let left = session.pendingPages(of: subscriber).pages.total
            let expected = budget.expectedSeconds(pagesLeft: left, bytesPerSecond: report.bandwidth)
            MigrationControl.current?.record(.init(number: round - 1, pages: count, bytes: sent, seconds: secs, pagesLeft: left,
                                                   bytesPerSecond: report.bandwidth, expectedDowntimeSeconds: expected))
            progress(String(format: "migration round %d: %d pages, %.1f MiB in %.3f s; %.0f MiB/s; %d pages dirty, expected downtime %.1f ms",
                            round - 1, count, Double(sent) / 1048576, secs, report.bandwidth / 1048576, left, expected * 1000))
            switch budget.decide(roundsDone: round, pagesLeft: left, bytesPerSecond: report.bandwidth) {
            case .handOver:
                report.converged = true
                return
            case .anotherRound:
                continue
            case .giveUp(let error):
                throw error
            }
        }
    }
}

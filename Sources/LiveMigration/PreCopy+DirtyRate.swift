import Dispatch

extension SourceAttempt {
    /// The pages the hand-over would send if the guest were paused now: those already listed
    /// dirty, or, if more, those the guest dirtied since the last take at the rate the later
    /// rounds measured. Until something harvests, the list shows nothing dirtied since the take
    /// (a headless run with no display reader harvests only at takes), yet the guest has been
    /// writing all along, up to the pause. At most the largest set a later round took (a guest
    /// rewriting the same pages dirties no more however long it runs).
    func pagesAtPause() -> Int {
        let listed = session.pendingPages(of: subscriber).pages.total
        return max(listed, projectedSinceTake(now: DispatchTime.now().uptimeNanoseconds))
    }

    /// Pages dirtied since the last take at the fastest of the last three later rounds' rates
    /// (each round's set over the time since the take before it).
    func projectedSinceTake(now: UInt64) -> Int {
        let rounds = report.rounds
        guard rounds.count >= 2, roundStarts.count == rounds.count, let last = roundStarts.last, now > last else { return 0 }
        var rate = 0.0, largest = 0
        for r in max(1, rounds.count - 3)..<rounds.count where roundStarts[r] > roundStarts[r - 1] {
            rate = max(rate, Double(rounds[r].pages) / (Double(roundStarts[r] - roundStarts[r - 1]) / 1e9))
            largest = max(largest, rounds[r].pages)
        }
        return min(Int(rate * Double(now - last) / 1e9), largest)
    }
}

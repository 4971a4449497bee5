@testable import LiveMigration
import Machine
import Testing

/// When auto-converge slows the guest: only while the rounds show it dirtying pages faster
/// than half the link's rate, with the budget missed for the pages (not for the fixed part).
@Suite("Auto-converge")
struct AutoConvergeTests {
    /// 1 ms a page, 10 ms fixed (before the margin).
    static let estimate = HandOverEstimate(syncSeconds: 0.004, roundTripSeconds: 0.004, secondsPerPage: 0.001, stateSeconds: 0)
    static let budget = 0.1

    @Test func stepsComeAfterTwoOutrunRoundsAndGrowToTheMost() {
        var a = AutoConverge(enabled: true)
        #expect(a.step(round: 1, sent: 1000, seconds: 1, left: 900, estimate: Self.estimate, budgetSeconds: Self.budget) == nil,
                "one round may be a burst")
        let first = a.step(round: 2, sent: 1000, seconds: 1, left: 900, estimate: Self.estimate, budgetSeconds: Self.budget)
        #expect(first == .init(percent: 20, dirtyPagesPerSecond: 900, linkPagesPerSecond: 1000))
        var seen = [20]
        for round in 3..<40 {
            if let s = a.step(round: round, sent: 1000, seconds: 1, left: 900, estimate: Self.estimate, budgetSeconds: Self.budget) {
                seen.append(s.percent)
            }
        }
        #expect(seen == [20, 30, 40, 50, 60, 70, 80, 90, 99])
        #expect(a.percent == GuestThrottle.maxPercent)
    }

    @Test func noStepForRound0OrWhenThePreCopyIsCatchingUp() {
        var a = AutoConverge(enabled: true)
        for round in 0..<10 {
            // Round 0 sends all of RAM; later rounds leave under half of what they sent.
            let left = round == 0 ? 5000 : 400
            #expect(a.step(round: round, sent: 1000, seconds: 1, left: left, estimate: Self.estimate, budgetSeconds: Self.budget) == nil)
        }
        #expect(a.percent == 0)
    }

    @Test func noStepWhenTheBudgetIsMetOrItsFixedPartAloneIsOver() {
        var a = AutoConverge(enabled: true)
        for round in 1..<10 {
            #expect(a.step(round: round, sent: 60, seconds: 0.1, left: 50, estimate: Self.estimate, budgetSeconds: Self.budget) == nil,
                    "50 pages fit 100 ms")
            #expect(a.step(round: round, sent: 1000, seconds: 1, left: 900, estimate: Self.estimate, budgetSeconds: 0.005) == nil,
                    "the fixed 13.75 ms alone is over 5 ms: slowing the guest cannot help")
        }
        #expect(a.percent == 0)
    }

    @Test func offMeansNeverSlowed() {
        var a = AutoConverge(enabled: false)
        for round in 1..<10 {
            #expect(a.step(round: round, sent: 1000, seconds: 1, left: 2000, estimate: Self.estimate, budgetSeconds: Self.budget) == nil)
        }
    }
}

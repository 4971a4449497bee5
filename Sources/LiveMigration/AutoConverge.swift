import Machine

/// Auto-converge (`--auto-converge on`): when the guest dirties pages faster than the link
/// takes them, so that the pre-copy cannot bring what is left under the downtime budget, the
/// guest's pace is slowed (`GuestThrottle`) step by step, as QEMU's cpu-throttle does: 20%
/// first, 10 more each further round that still outruns the link, 99% at most. The pace is
/// restored when the attempt ends, however it ends (the destination's copy runs at the pace it
/// was configured with: the throttle does not travel).
struct AutoConverge {
    static let firstStep = 20, increment = 10
    /// A round outruns the link when the pages it left dirty are at least this share of the
    /// pages it sent: the dirty rate is over half the link's rate, as QEMU's trigger.
    static let outrunShare = 0.5
    /// Rounds in a row that must outrun the link before a step (one may be a burst).
    static let roundsBeforeStep = 2

    let enabled: Bool
    private(set) var percent = 0
    private var outrunRounds = 0

    init(enabled: Bool) { self.enabled = enabled }

    /// A step, as reported: the percent, and the rates that called for it (pages per second).
    struct Step: Sendable, Equatable {
        var percent: Int
        var dirtyPagesPerSecond: Double
        var linkPagesPerSecond: Double
    }

    /// After a round (not round 0: it sends all of RAM, not what was dirtied) that sent
    /// `sent` pages in `seconds` and left `left` dirty, with the hand-over estimated at
    /// `estimate`: the next step, or nil to keep the pace. No step when the budget is met or
    /// when the hand-over of no pages at all is over it (slowing the guest cannot help then).
    mutating func step(round: Int, sent: Int, seconds: Double, left: Int, estimate: HandOverEstimate,
                       budgetSeconds: Double) -> Step? {
        guard enabled, round >= 1, sent > 0, seconds > 0 else { return nil }
        let overBudget = estimate.seconds(pages: left) > budgetSeconds
        guard overBudget, estimate.seconds(pages: 0) < budgetSeconds, Double(left) >= Self.outrunShare * Double(sent) else {
            outrunRounds = 0
            return nil
        }
        outrunRounds += 1
        guard outrunRounds >= Self.roundsBeforeStep, percent < GuestThrottle.maxPercent else { return nil }
        percent = percent == 0 ? Self.firstStep : min(percent + Self.increment, GuestThrottle.maxPercent)
        outrunRounds = 0
        return Step(percent: percent, dirtyPagesPerSecond: Double(left) / seconds, linkPagesPerSecond: Double(sent) / seconds)
    }
}

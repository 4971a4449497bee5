/// Unlogged to logged **when calm**: every unlogged sync compares the frame with the shadow
/// until it has found enough changed tiles to cover `CostModel.unloggedPageLimit` pages
/// (beyond that logging cannot win, so the rest is copied whole: a dense screen costs about a
/// full copy), and counts the framebuffer pages the changed tiles overlap: the pages a guest
/// writing just those pixels would dirty. When, for `returnStreak` syncs in a row, those pages
/// at the cost per page last measured logged predict a logged sync under the unlogged cost by
/// the margin, it switches back. A return that proves wrong (back to unlogged within
/// `4 * streak` logged syncs) doubles the streak needed next time, up to `maxReturnStreak`.
/// So a dense phase costs one switch in and one out, without flapping.
public struct ReturnRule: Sendable {
    public var returnStreak = 2
    public var maxReturnStreak = 32
    private var underBudget = 0
    /// The calm syncs in a row the next return needs.
    private var needed: Int
    /// Logged syncs since the policy came back to logging (nil: not back from unlogged).
    private var syncsSinceReturn: Int?
    /// Pages the unlogged sync that brought the method back counted.
    private var returnPages = 0

    init() { needed = returnStreak }

    /// On the first logged sync after a return: the pages the compare counted when it returned.
    var pagesAtReturn: Int? { syncsSinceReturn == 0 && returnPages > 0 ? returnPages : nil }

    /// One observation of `syncs` unlogged syncs (those up to a guest frame's end; 1 when
    /// syncs do not outnumber frames) whose changed pages predict logged costs of `predicted`:
    /// the reason to return, when calm long enough and `allowed` (no hold-off, no exploration
    /// running). Logged, those syncs would have cost the faults of their pages; unlogged, each
    /// cost a compare.
    mutating func observe(predicted: Double, pages: Int, syncs: Int = 1, model: CostModel, allowed: Bool) -> SwitchReason? {
        underBudget = predicted * model.margin < model.unloggedNanos * Double(max(1, syncs)) ? underBudget + 1 : 0
        guard underBudget >= needed, allowed else { return nil }
        let reason = SwitchReason.calm(predictedMicros: predicted / 1000, unloggedMicros: model.unloggedNanos / 1000, syncs: underBudget)
        underBudget = 0
        returnPages = pages
        syncsSinceReturn = 0
        return reason
    }

    /// A logged sync that found something: `provenAfter` of them after a return prove it right.
    mutating func loggedSync(provenAfter: Int) {
        syncsSinceReturn = syncsSinceReturn.map { $0 + 1 }
        if let n = syncsSinceReturn, n >= provenAfter {
            needed = returnStreak
            syncsSinceReturn = nil
        }
    }

    /// Logging was left. Soon after a return, the return was wrong: ask for a longer calm next
    /// time. (A long logged stretch resets it, in `loggedSync`.)
    mutating func leftLogging() {
        underBudget = 0
        if syncsSinceReturn != nil { needed = min(needed * 2, maxReturnStreak) }
        syncsSinceReturn = nil
    }

    /// The calm streak starts again.
    mutating func resetStreak() { underBudget = 0 }
}

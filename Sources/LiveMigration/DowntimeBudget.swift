import MigrationWire

/// When pre-copy ends: once the pages still dirty, sent at the bandwidth seen so far, fit the
/// downtime budget, the guest is paused for the hand-over. When the rounds run out first,
/// the attempt is abandoned instead, as QEMU keeps iterating rather than pausing a guest
/// longer than it was told to.
struct DowntimeBudget {
    let maxDowntimeSeconds: Double
    let maxRounds: Int

    /// Bytes on the wire for each page of the last set: the page and its record header.
    static let bytesPerPage = MigrationWire.pageSize + 9

    enum Decision {
        case handOver
        case anotherRound
        case giveUp(MigrationError)
    }

    /// Seconds the last set would take at `bytesPerSecond`.
    func expectedSeconds(pagesLeft: Int, bytesPerSecond: Double) -> Double {
        Double(pagesLeft * Self.bytesPerPage) / max(bytesPerSecond, 1)
    }

    /// What to do after `roundsDone` rounds with `pagesLeft` pages dirty.
    func decide(roundsDone: Int, pagesLeft: Int, bytesPerSecond: Double) -> Decision {
        let expected = expectedSeconds(pagesLeft: pagesLeft, bytesPerSecond: bytesPerSecond)
        if expected <= maxDowntimeSeconds { return .handOver }
        guard roundsDone >= maxRounds else { return .anotherRound }
        return .giveUp(.didNotConverge(rounds: roundsDone, pagesLeft: pagesLeft, expectedMs: expected * 1000,
                                       budgetMs: maxDowntimeSeconds * 1000, bytesPerSecond: bytesPerSecond))
    }
}

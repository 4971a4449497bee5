import MigrationWire

/// When pre-copy ends: once the hand-over, as measured so far (`HandOverEstimate`), fits the
/// downtime budget, the guest is paused for it. When the rounds run out first, the attempt
/// is abandoned instead, as QEMU keeps iterating rather than pausing a guest longer than it
/// was told to.
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

    /// What to do after `roundsDone` rounds with `pagesLeft` pages dirty.
    func decide(roundsDone: Int, pagesLeft: Int, estimate: HandOverEstimate) -> Decision {
        let expected = estimate.seconds(pages: pagesLeft)
        if expected <= maxDowntimeSeconds { return .handOver }
        guard roundsDone >= maxRounds else { return .anotherRound }
        return .giveUp(.didNotConverge(rounds: roundsDone, pagesLeft: pagesLeft, expectedMs: expected * 1000,
                                       fixedMs: estimate.seconds(pages: 0) * 1000, budgetMs: maxDowntimeSeconds * 1000,
                                       bytesPerSecond: Double(Self.bytesPerPage) / max(estimate.secondsPerPage, 1e-12)))
    }
}

/// What a hand-over would take now, from what was measured while the guest ran: a fixed
/// part (the sync of the last take, the vCPU and device state, the round trips of
/// complete/ready and commit, pausing and starting the vCPUs) and a part per page of the last
/// set (the slower of the link and the destination writing pages, as its round
/// acknowledgements showed). A margin covers what varies from one measurement to the next.
struct HandOverEstimate {
    /// The slowest of the recent takes (a sync, as at the pause).
    var syncSeconds: Double
    /// The link's round trip (`LinkRoundTrip`: the least of the hellos' and the kernel's).
    var roundTripSeconds: Double
    /// Seconds per page of the last set, from the rounds' service times.
    var secondsPerPage: Double
    /// Saving the vCPU and device state here, loading it there: per vCPU.
    var stateSeconds: Double

    /// The link's losses (`LinkRoundTrip.lossSeconds`): none unless it has lost packets.
    var link: LinkRoundTrip?
    /// Bytes on the wire for a page of the last set (less when batches are compressed).
    var wireBytesPerPage = Double(DowntimeBudget.bytesPerPage)
    /// What the state and the digests add to the hand-over's bytes, about.
    static let stateBytes = 4096

    /// Pausing the vCPUs here and starting them there, on a loaded host.
    static let pauseAndStartSeconds = 0.001
    /// Measurements vary: what is expected is this much more than what was measured.
    static let margin = 1.25

    /// Everything but the pages: the pause, the sync, the state, the ready round trip, the
    /// commit's way over, the start.
    var fixedSeconds: Double {
        Self.margin * (syncSeconds + stateSeconds + 1.5 * roundTripSeconds + Self.pauseAndStartSeconds)
    }

    /// The downtime expected if the guest were paused now with `pages` pages dirty.
    func seconds(pages: Int) -> Double {
        fixedSeconds + Self.margin * Double(pages) * secondsPerPage + lossSeconds(pages: pages)
    }

    /// Retransmission timeouts allowed for a hand-over of `pages` pages on a lossy link.
    func lossSeconds(pages: Int) -> Double {
        link?.lossSeconds(bytes: Int(Double(pages) * wireBytesPerPage) + Self.stateBytes) ?? 0
    }
}

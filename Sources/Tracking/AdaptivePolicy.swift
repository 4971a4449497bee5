/// How `--tracking auto` keeps the framebuffer at any moment.
public enum DisplayMethod: String, Sendable {
    /// KVM logs the framebuffer slot; only dirty pages are copied.
    case logged
    /// The slot is not logged; every sync copies the whole frame.
    case full
}

/// Decides, sync by sync, between logged tracking and full repaint from costs measured on
/// this host, not from thresholds tuned on one machine. Pure logic: the session feeds it
/// each sync's host cost and repainted tiles and carries out what it says.
///
/// - **Logged to full**: when logged syncs cost more than `margin` times a full-frame copy
///   for `streak` syncs in a row (a dense screen: walking, resetting and copying most pages
///   one by one loses to one sequential copy).
/// - **Full to logged**: every `probeEvery` syncs in full mode, one sync compares the frame
///   with the shadow instead of copying it (`wantsProbe`), which counts the tiles that really
///   changed without turning logging on. If logged tracking would have cost less than a full
///   copy by `margin` at the cost per tile it last measured, it switches back; if not, the
///   wait before the next probe doubles (up to `maxProbeEvery`). So a dense phase costs one
///   switch in and one out, never a flapping of probes.
public struct AdaptivePolicy: Sendable {
    public var margin = 1.1
    public var streak = 3
    public var probeEvery = 4
    public var maxProbeEvery = 32
    /// Nanoseconds of one full-frame copy on this host (measured, then averaged).
    public private(set) var fullCopyNanos: Double
    /// Nanoseconds per repainted tile in logged mode (measured, then averaged).
    public private(set) var loggedNanosPerTile: Double?
    public private(set) var method: DisplayMethod = .logged
    private var overBudget = 0
    private var syncsSinceProbe = 0
    private var currentProbeEvery: Int
    /// Logged syncs since a probe brought the method back (nil: not back by a probe).
    private var syncsSinceReturn: Int?
    /// Tiles the probe that brought the method back counted as changed.
    private var probeTiles = 0
    /// How many more tiles logged tracking repaints than a compare finds changed (page
    /// granularity: a dirty page repaints every tile it touches), learned from probes that
    /// came back (the latest such probe); predictions are scaled by it. At least 1.
    public private(set) var tileScale = 1.0

    public init(fullCopyNanos: Double) {
        self.fullCopyNanos = max(fullCopyNanos, 1)
        currentProbeEvery = probeEvery
    }

    /// What to do after a sync: stay, or switch to `method`.
    public enum Decision: Equatable, Sendable { case stay, switchTo(DisplayMethod) }

    /// In full mode: whether the next sync should be a compare pass (a probe).
    public var wantsProbe: Bool { method == .full && syncsSinceProbe + 1 >= currentProbeEvery }

    /// Feeds one sync: its host cost (harvest + reset + fold + copy), the tiles it repainted,
    /// and whether it was a probe (a compare pass in full mode).
    public mutating func observe(syncNanos: Double, tiles: Int, probe: Bool = false) -> Decision {
        switch method {
        case .logged:
            if tiles > 0 {
                let perTile = syncNanos / Double(tiles)
                loggedNanosPerTile = loggedNanosPerTile.map { 0.8 * $0 + 0.2 * perTile } ?? perTile
            }
            if syncsSinceReturn == 1, probeTiles > 0 {
                // The first logged sync after a probe's return (the one before copied the frame).
                tileScale = max(1, Double(tiles) / Double(probeTiles))
            }
            overBudget = syncNanos > margin * fullCopyNanos ? overBudget + 1 : 0
            syncsSinceReturn = syncsSinceReturn.map { $0 + 1 }
            guard overBudget >= streak else { return .stay }
            overBudget = 0
            method = .full
            syncsSinceProbe = 0
            // Back in full soon after a probe said logged would be cheaper: the probe was
            // wrong (page-granular logging repaints more than the tiles that really changed),
            // so wait twice as long before the next one. A long logged stretch resets it.
            if let n = syncsSinceReturn, n < 4 * streak {
                currentProbeEvery = min(currentProbeEvery * 2, maxProbeEvery)
            } else {
                currentProbeEvery = probeEvery
            }
            syncsSinceReturn = nil
            return .switchTo(.full)
        case .full:
            syncsSinceProbe += 1
            guard probe else {
                // Every full sync is a fresh measurement of the full copy on this host.
                fullCopyNanos = 0.8 * fullCopyNanos + 0.2 * max(syncNanos, 1)
                return .stay
            }
            syncsSinceProbe = 0
            let predicted = (loggedNanosPerTile ?? 0) * Double(tiles) * tileScale
            probeTiles = tiles
            if predicted * margin < fullCopyNanos {
                method = .logged
                overBudget = 0
                syncsSinceReturn = 0
                return .switchTo(.logged)
            }
            currentProbeEvery = min(currentProbeEvery * 2, maxProbeEvery)
            return .stay
        }
    }

    /// Logging must stay on (a migration subscriber needs the framebuffer's pages).
    public mutating func pinLogged() -> Decision {
        guard method == .full else { return .stay }
        method = .logged
        overBudget = 0
        return .switchTo(.logged)
    }
}

/// Why `--tracking auto` changed how it keeps the framebuffer: the measurement behind one
/// decision of `AdaptivePolicy` (times in microseconds, rates in guest frames per second).
public enum SwitchReason: Sendable, Equatable {
    /// Logged, the guest drew fewer frames than it did unlogged (the rate rule).
    case guestSlowed(loggedFPS: Double, unloggedFPS: Double)
    /// Logged syncs came often enough to reset frames while they were drawn: a short
    /// unlogged window measures the guest's rate there.
    case exploring(syncsPerFrame: Double)
    /// Logged syncs (host time plus the guest's write faults) cost over the margin times an
    /// unlogged sync for `syncs` syncs in a row.
    case loggedCostsMore(loggedMicros: Double, unloggedMicros: Double, syncs: Int)
    /// Two syncs in a row whose pages alone cost the guest far more in write faults than an
    /// unlogged sync (the second one's numbers).
    case faultsFarOver(pages: Int, faultMicros: Double, unloggedMicros: Double)
    /// Unlogged, the changed pages predicted a logged sync cheaper than an unlogged one for
    /// `syncs` syncs in a row.
    case calm(predictedMicros: Double, unloggedMicros: Double, syncs: Int)
    /// A migration subscriber needs the framebuffer's pages listed.
    case migration
    /// A test or benchmark switched on a fixed schedule.
    case forced
}

extension SwitchReason: CustomStringConvertible {
    public var description: String {
        func us(_ x: Double) -> String { x >= 1000 ? String(format: "%.2f ms", x / 1000) : String(format: "%.0f us", x) }
        switch self {
        case .guestSlowed(let logged, let unlogged):
            return String(format: "logged, the guest drew %.0f frames/s against %.0f unlogged", logged, unlogged)
        case .exploring(let perFrame):
            return String(format: "%.1f syncs per guest frame: measuring the guest's rate unlogged", perFrame)
        case .loggedCostsMore(let logged, let unlogged, let n):
            return "a logged sync cost \(us(logged)) with the guest's write faults, over an unlogged one's \(us(unlogged)), \(n) in a row"
        case .faultsFarOver(let pages, let faults, let unlogged):
            return "\(pages) dirty pages cost the guest \(us(faults)) in write faults, far over an unlogged sync's \(us(unlogged))"
        case .calm(let predicted, let unlogged, let n):
            return "the changed pages predict a logged sync of \(us(predicted)), under an unlogged one's \(us(unlogged)), \(n) in a row"
        case .migration:
            return "a migration needs the framebuffer's pages listed"
        case .forced:
            return "forced"
        }
    }
}

/// One switch of method: to what, why, and when (the guests' frames completed, all vCPUs).
public struct MethodSwitch: Sendable, Equatable {
    public var to: DisplayMethod
    public var reason: SwitchReason
    public var guestFrames: Int

    public init(to: DisplayMethod, reason: SwitchReason, guestFrames: Int) {
        self.to = to
        self.reason = reason
        self.guestFrames = guestFrames
    }

    /// `auto: frame 12: to full repaint (unlogged): ...`
    public var line: String {
        "auto: frame \(guestFrames): to \(to == .logged ? "logged tracking" : "full repaint (unlogged)"): \(reason)"
    }
}

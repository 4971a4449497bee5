import KVM
import Machine

/// `--tracking auto` inside a session: measures the two costs the policy starts from, feeds
/// it each sync's cost and counts, and says which switch of method, if any, to carry out
/// (`TrackingSession` carries it out: logging on or off, and the display's method). Lives
/// under the session lock.
struct AutoController {
    private(set) var policy: AdaptivePolicy
    /// The guest's cost of one dirty-logged write fault the policy weighs (ns).
    let writeFaultNanos: Double
    /// Fault injection: switch every n-th sync whatever the policy says (0: off).
    var forcedSwitchEvery = 0
    private var syncCount = 0
    /// Frames all vCPUs had completed at the previous sync (the guest's frame rate).
    private var lastFrameTotal = 0
    /// Syncs until the frame total passes this are not measurements of logging: they
    /// hold the guest's first frame after boot or a mode set (a guest paints its whole new
    /// screen once, e.g. clearing it at boot; one dense frame is not a dense workload).
    private var modeSetFrameMark = -1

    /// Times a full-frame copy into `display`'s shadow (the first estimate of an unlogged sync)
    /// and takes the fault cost: `writeFaultNanos` if given, else `WriteFaultProbe`'s for this
    /// process with `logging`. Call under the session lock, before the guest runs.
    init(display: DisplayTracker, system: KVMSystem, logging: DirtyLogging, writeFaultNanos: Double?) {
        // The first copy faults the slot's pages in; the quicker of the next two, each from
        // memory (a buffer larger than the last-level cache written over first), is the
        // estimate until unlogged syncs measure the real thing.
        let evict = CacheEvictor()
        _ = display.measureFullCopy(evicting: nil)
        let fault = writeFaultNanos ?? WriteFaultProbe.cached(system: system, logging: logging)?.nanosPerPage ?? 0
        self.writeFaultNanos = fault
        let copy = (0..<2).map { _ in display.measureFullCopy(evicting: evict) }.min()!
        policy = AdaptivePolicy(fullCopyNanos: Double(copy), faultNanos: fault)
    }

    /// How many changed pages the next unlogged sync looks for (all of them while switches
    /// are forced).
    var unloggedPageLimit: Int { forcedSwitchEvery == 0 ? policy.unloggedPageLimit : Int.max }

    /// One sync as the policy weighs it.
    struct Sync {
        /// Host time of harvest, reset, fold and copy, scaled to the CPU time the thread ran.
        var hostNanos: UInt64
        var tiles: Int
        /// Since the previous sync began (nil for the first).
        var intervalNanos: Double?
        /// Logged: pages the guest dirtied; unlogged: pages the changed tiles overlap.
        var pages: Int
        /// The sync followed a guest mode set.
        var newMode: Bool
    }

    /// The share of a sync's wall time its thread ran scales its phases: a sync preempted by
    /// other load on the host does not cost the host more (under three busy loops on two
    /// cores, wall-time costs made plasma flap 7 times in 400 lockstep frames).
    static func hostNanos(phases: UInt64, wall: UInt64, cpu: UInt64) -> UInt64 {
        let ran = wall > 0 && cpu > 0 ? min(1, Double(cpu) / Double(wall)) : 1
        return UInt64(Double(phases) * ran)
    }

    /// After each sync: the switch to carry out, if any. `pinned`: a migration subscriber
    /// needs the framebuffer logged.
    mutating func afterSync(_ sync: Sync, display: DisplayTracker, machine: Machine, pinned: Bool) -> (to: DisplayMethod, because: SwitchReason)? {
        syncCount += 1
        if forcedSwitchEvery > 0 {
            guard syncCount % forcedSwitchEvery == 0 && !pinned else { return nil }
            return (display.method == .logged ? .unlogged : .logged, .forced)
        }
        if pinned { return pinLogged().map { ($0, .migration) } }
        let frameTotal = machine.totalFramesCompleted
        // The first sync or a mode set's may or may not hold the first frame (lockstep: it
        // does; a free-running guest may still be drawing it): up to one more frame per vCPU.
        if sync.newMode || syncCount == 1 { modeSetFrameMark = frameTotal + machine.vcpuCount }
        let copiedAll = display.method == .logged && (display.lastCopiedAll || frameTotal <= modeSetFrameMark)
        let frames = max(0, frameTotal - lastFrameTotal)
        lastFrameTotal = frameTotal
        let decision = policy.observe(syncNanos: Double(sync.hostNanos), tiles: sync.tiles, pages: sync.pages,
                                      intervalNanos: sync.intervalNanos, guestFrames: frames, copiedAll: copiedAll)
        guard case .switchTo(let method) = decision else { return nil }
        return (method, policy.lastReason)
    }

    /// Logging must stay on: the method to switch to, if it is not logged now.
    mutating func pinLogged() -> DisplayMethod? {
        guard case .switchTo(let method) = policy.pinLogged() else { return nil }
        return method
    }
}

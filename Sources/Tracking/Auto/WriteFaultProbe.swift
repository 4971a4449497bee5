import Dispatch
import Display
import KVM
import Machine
import Synchronization

/// What a dirty-logged first write to a page costs the guest on this host, measured.
public struct WriteFaultCost: Sendable {
    /// Guest nanoseconds per dirty-logged write fault (one per page per reset).
    public var nanosPerPage: Double
    /// Median guest time per frame with the framebuffer logged and without (ns).
    public var loggedFrameNanos: Double
    public var unloggedFrameNanos: Double
    /// Pages each logged frame dirtied (and so faulted on), on average.
    public var pagesPerFrame: Double
    /// Wall time the probe took (both runs, boot included), ns.
    public var probeNanos: UInt64
}

/// A short probe (tens of milliseconds at most) of the guest's write-fault cost on real KVM:
/// the `pagewriter` guest writes `pages` pseudo-random framebuffer pages per frame at CPL 3,
/// in lockstep with a sync (harvest and reset) after every frame, once with the framebuffer
/// logged and once without. The difference in the guest's own time per frame (release at one
/// doorbell to the next doorbell), over the pages each logged frame dirtied, is the cost of
/// one fault: about 2 us on some hosts of this machine kind, 29 us on others, which decides
/// whether logged tracking pays for a screen (`AdaptivePolicy`).
public enum WriteFaultProbe {
    /// Measures with `logging` (the kind `--tracking auto` would use) and the given image
    /// (`pagewriter`).
    public static func measure(system: KVMSystem, logging: DirtyLogging, image: GuestImage,
                               frames: Int = 24, warmup: Int = 4) throws(TrackingError) -> WriteFaultCost {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let logged = try guestFrameTimes(system: system, logging: logging, image: image, frames: frames, warmup: warmup)
        let unlogged = try guestFrameTimes(system: system, logging: .none, image: image, frames: frames, warmup: warmup)
        let pages = logged.pagesPerFrame
        let extra = max(0, logged.medianNanos - unlogged.medianNanos)
        return WriteFaultCost(nanosPerPage: pages > 0 ? extra / pages : 0, loggedFrameNanos: logged.medianNanos,
                              unloggedFrameNanos: unlogged.medianNanos, pagesPerFrame: pages,
                              probeNanos: DispatchTime.now().uptimeNanoseconds - t0)
    }

    /// The probe's result for this process: what an earlier process measured in this boot
    /// (`WriteFaultCache`), else measured at the first call (nil if it failed, e.g. the guest
    /// images are not found). `--tracking auto` sessions share it.
    public static func cached(system: KVMSystem, logging: DirtyLogging) -> WriteFaultCost? {
        cache.withLock { c in
            if let done = c { return done }
            let r = WriteFaultCache.load(logging)
                ?? (try? GuestCatalog.load("pagewriter")).flatMap { try? measureAndStore(system: system, logging: logging, image: $0) }
            c = .some(r)
            return r
        }
    }

    /// Measures afresh (`ringside info`) and keeps the result for later processes of this boot.
    public static func measureAndStore(system: KVMSystem, logging: DirtyLogging, image: GuestImage) throws(TrackingError) -> WriteFaultCost {
        let cost = try measure(system: system, logging: logging, image: image)
        WriteFaultCache.store(cost, logging)
        return cost
    }

    private static let cache = Mutex<WriteFaultCost??>(nil)

    private struct Run { var medianNanos: Double; var pagesPerFrame: Double }

    private static func guestFrameTimes(system: KVMSystem, logging: DirtyLogging, image: GuestImage,
                                        frames: Int, warmup: Int) throws(TrackingError) -> Run {
        var config = MachineConfig(image: image)
        // 640x480: 300 framebuffer pages; 48 random writes a frame dirty about 44 of them.
        config.arguments = "pages=48 seed=7 ram=0 fb=1"
        config.width = 640
        config.height = 480
        config.ramBytes = 16 << 20
        config.guestHz = 0
        config.lockstep = true
        config.frameLimit = warmup + frames
        config.dirtyLogging = logging
        let mode: TrackingMode
        switch logging {
        case .none: mode = .full
        case .ring: mode = .ring
        case .bitmap: mode = .bitmap
        }
        let plan = TrackingPlan(requested: mode, mode: mode, logging: logging, reason: "write-fault probe")
        let recorder = FrameRecorder(capacity: warmup + frames, warmup: warmup)
        var events = MachineEvents()
        events.allFramesDone = { _ in recorder.frameDone() }
        let booted = try BootedMachine(system: system, config: config, plan: plan, migration: false, events: events)
        let session = TrackingSession(booted, tile: TileSize(width: 64, height: 16), writeFaultNanos: 0)
        recorder.attach(session)
        session.machine.start()
        let outcome = session.machine.wait()
        guard case .framesCompleted = outcome else {
            throw .machine(.badArguments("the write-fault probe's guest did not finish: \(outcome)"))
        }
        let (guestNanos, pages) = recorder.recorded
        let times = guestNanos.sorted()
        guard !times.isEmpty else { return Run(medianNanos: 0, pagesPerFrame: 0) }
        return Run(medianNanos: Double(times[times.count / 2]), pagesPerFrame: Double(pages) / Double(times.count))
    }

    /// On the vCPU thread at each lockstep doorbell: the guest's time for the frame, then a sync.
    private final class FrameRecorder: Sendable {
        private struct State {
            weak var session: TrackingSession?
            var guestNanos: [UInt64] = []
            var pages = 0
            var lastRelease: UInt64 = 0
            var seen = 0
        }
        private let state: Mutex<State>
        private let warmup: Int

        init(capacity: Int, warmup: Int) {
            self.warmup = warmup
            var s = State()
            s.guestNanos.reserveCapacity(capacity)
            state = Mutex(s)
        }

        func attach(_ session: TrackingSession) { state.withLock { $0.session = session } }

        /// The guest's time for each frame after the warm-up (ns), and the pages they dirtied.
        var recorded: ([UInt64], Int) { state.withLock { ($0.guestNanos, $0.pages) } }

        func frameDone() {
            let now = DispatchTime.now().uptimeNanoseconds
            let session = state.withLock { s in
                s.seen += 1
                return s.session
            }
            _ = try? session?.sync()
            let pagesThisFrame = session?.takeIntervalStats().uniquePages ?? 0
            state.withLock { s in
                if s.seen > warmup, s.lastRelease != 0 {
                    s.guestNanos.append(now - s.lastRelease)
                    s.pages += pagesThisFrame
                }
                s.lastRelease = DispatchTime.now().uptimeNanoseconds
            }
        }
    }
}

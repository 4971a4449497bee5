import Dispatch
import Display
import Foundation
import KVM
import Machine
import Synchronization
@_spi(FaultInjection) import Tracking

/// One configuration of the no-loss check: a tracking mode, a vCPU count and a ring size.
public struct NoLossCase: Sendable, CustomStringConvertible {
    public var mode: TrackingMode
    public var cpus: Int
    public var ringEntries: Int
    public var pauses: Int
    public init(mode: TrackingMode, cpus: Int, ringEntries: Int, pauses: Int) {
        self.mode = mode; self.cpus = cpus; self.ringEntries = ringEntries; self.pauses = pauses
    }
    public var description: String { "\(mode.rawValue), \(cpus) vCPU\(cpus > 1 ? "s" : "")" }
}

/// What one configuration found.
public struct NoLossResult: Sendable {
    public var check: NoLossCase
    /// The logging actually used (a ring may fall back to the bitmap on hosts without one).
    public var trackingUsed: TrackingMode
    public var pauses = 0
    /// Pages compared with the mirror or the shadow, summed over pauses.
    public var pagesCompared = 0
    /// Distinct pages found changed but unreported (plus shadow mismatches, once per pause).
    public var pagesLost = 0
    /// The first lost page: which pause, what, and the guest's frame then.
    public var firstLoss: String?
    public var ringFullExits = 0
    public var duplicates = 0
    public var syncs = 0
    public var guestFrames = 0
    public var seconds = 0.0
}

/// The kernel's `dirty_log_test` idea as a check users run on their own host: the `pagewriter`
/// guest writes its frame number into random pages of RAM and framebuffer while a collector
/// syncs concurrently; at random pauses a mirror updated only from a migration subscriber's
/// takes must equal guest memory, and the display's shadow must equal the framebuffer. A page
/// that differs changed without being reported: the dirty log lost it.
public enum NoLossRun {
    /// The guest and geometry: an odd width and a padded pitch, so pages straddle rows.
    static let arguments = "pages=48 fb=1 ram=1"
    static let width = 333, height = 211, pitch = 1344
    static let ramBytes: UInt64 = 16 << 20

    /// Runs one configuration. `progress(pausesDone)` is called from this thread now and then;
    /// `shouldStop` ends it early (Ctrl-C, a time budget). `dropEvery` > 0 breaks the collector
    /// on purpose (drops every n-th harvested page), to prove the check catches it.
    public static func run(_ c: NoLossCase, system: KVMSystem, caps: HostCapabilities, seed: UInt64,
                           dropEvery: Int = 0, progress: (Int) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> NoLossResult {
        let (session, mode) = try makeSession(c, system: system, caps: caps, seed: seed, dropEvery: dropEvery)
        // A display reader for the whole run: the shadow is kept equal to the framebuffer
        // only while someone reads it (with nobody reading, syncs only harvest and a new
        // reader starts from a whole copy), and that is what each pause checks.
        let displayReader = session.makeDisplaySink(name: "verify")
        defer { withExtendedLifetime(displayReader) {} }
        let sub = mode == .ring || mode == .bitmap ? try session.subscribeMigration() : nil
        let mirror = sub.map { _ in PageMirror(session.machine) }
        var result = NoLossResult(check: c, trackingUsed: mode)
        let machine = session.machine
        let started = Date()
        let collector = SyncThread(session: session)
        machine.start()
        collector.start()
        defer {
            collector.stop()
            machine.stop()
            machine.wait()
        }
        var rng = SystemRandomNumberGenerator()
        for pause in 0..<c.pauses {
            if shouldStop() { break }
            if let outcome = machine.finishedOutcome { throw NoLossError.guestEnded("\(outcome)") }
            usleep(UInt32.random(in: 0...800, using: &rng))
            machine.pause()
            let frame = machine.framesCompletedByEveryVCPU + 1 // the frame being drawn
            let lost = try losses(session, sub: sub, mirror: mirror, compared: &result.pagesCompared)
            machine.resume()
            result.pauses += 1
            if !lost.isEmpty {
                result.pagesLost += lost.count
                if result.firstLoss == nil { result.firstLoss = "pause \(pause), during guest frame \(frame): \(lost[0])" }
            }
            if pause % 50 == 49 { progress(result.pauses) }
        }
        let st = session.totalStats
        result.ringFullExits = st.ringFullHarvests
        result.duplicates = st.duplicates
        result.syncs = st.syncs
        result.guestFrames = machine.totalFramesCompleted
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// The pagewriter guest in the check's geometry, tracked as `c` asks; the mode the plan
    /// chose (a ring may fall back to the bitmap).
    private static func makeSession(_ c: NoLossCase, system: KVMSystem, caps: HostCapabilities, seed: UInt64,
                                    dropEvery: Int) throws -> (TrackingSession, TrackingMode) {
        var config = MachineConfig(image: try GuestCatalog.load("pagewriter"))
        config.arguments = Self.arguments + " seed=\(seed)"
        config.width = width; config.height = height; config.pitch = pitch
        config.ramBytes = ramBytes
        config.cpus = c.cpus
        config.guestHz = 0
        try config.validate(maxVCPUs: caps.usableVCPUs)
        let plan = try TrackingPlan.make(mode: c.mode, ringEntries: c.ringEntries, caps: caps, migration: false)
        let session = try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16), migration: false)
        if dropEvery > 0 { session.dropEveryNthHarvestedPage(dropEvery) }
        // Auto is checked where it is hardest: switching between logged tracking and full
        // repaint every 5 syncs, with no subscriber pinning the framebuffer logged.
        if plan.mode == .auto { session.forceMethodSwitchEvery(5) }
        return (session, plan.mode)
    }

    /// With the guest paused: what changed unreported. With a subscriber, its take applied to
    /// the mirror, which must then equal guest memory (each loss repaired, so counted once);
    /// without, a sync. Either way the shadow must equal the framebuffer.
    private static func losses(_ session: TrackingSession, sub: MigrationSubscriber?, mirror: PageMirror?,
                               compared: inout Int) throws -> [String] {
        var lost: [String] = []
        if let sub, let mirror {
            mirror.apply(try session.take(sub), from: session.machine)
            let diffs = mirror.differences(session.machine, limit: .max, repair: true)
            compared += mirror.totalPages
            lost += diffs.map { "\($0.slotName) page \($0.page) (slot \($0.slot)) holds guest frame \($0.firstWord) but was never reported" }
        } else {
            try session.sync()
            compared += (pitch * height + GuestLayout.pageSize - 1) / GuestLayout.pageSize
        }
        if let d = session.withDisplay({ $0.firstDifference() }) {
            lost.append("the display shadow differs from the framebuffer at pixel (\(d.x), \(d.y))")
        }
        return lost
    }
}

public enum NoLossError: Error, CustomStringConvertible {
    case guestEnded(String)
    public var description: String {
        switch self {
        case .guestEnded(let how): return "the pagewriter guest ended during the check (\(how))"
        }
    }
}

/// Syncs back to back on its own thread, as a display would, so harvests race the guest.
final class SyncThread: Sendable {
    private let session: TrackingSession
    private let running = Atomic<Bool>(true)
    private let done = DispatchSemaphore(value: 0)

    init(session: TrackingSession) { self.session = session }

    func start() {
        let t = Thread { [self] in
            while running.load(ordering: .acquiring) {
                do { try session.sync() } catch { session.machine.stop(); break }
                usleep(200)
            }
            done.signal()
        }
        t.name = "verify-collector"
        t.start()
    }

    /// Ends the thread and waits for its last sync.
    func stop() {
        running.store(false, ordering: .releasing)
        done.wait()
    }
}

import Dispatch
import Display
import Foundation
import KVM
import LiveMigration
import Machine
import MigrationWire
import Tracking

/// `ringside bench --migration`: migrates a running guest to a destination in the same
/// process over a real loopback TCP connection, with the real protocol, and records rounds,
/// bytes, time and downtime per (guest, RAM, tracking). Returns records; never prints.
public struct MigrationBenchRecord: Sendable {
    public var guest: String
    public var ramBytes: UInt64
    public var mode: String
    public var rounds = 0
    public var converged = false
    public var pagesSent = 0
    public var bytesSent = 0
    public var seconds = 0.0
    /// Source: pause to the destination's `started`.
    public var downtimeMs = 0.0
    /// Destination: the source's pause (as it reported) to its own first `KVM_RUN`.
    public var destinationDowntimeMs = 0.0
    public var finalPages = 0
    /// Mean seconds of the rounds after round 0 (the dirty-list rounds).
    public var laterRoundMs = 0.0
    /// Mean time to take the page set in the rounds after round 0, the last (paused) one included:
    /// a sync over the logged slots. The ring's follows what was dirtied; the bitmap's walks all of RAM.
    public var laterSyncUs = 0.0
    /// Median of 30 dirty-list takes 16 ms apart before the migration, with RAM logged: the
    /// per-round sync cost with enough samples to compare RAM sizes on a noisy host.
    public var takeMedianUs = 0.0
    public var failure: String?
}

public enum MigrationBench {
    /// Runs one cell: boot `workload` with `ramBytes` of RAM under `mode` (paced at 60 Hz,
    /// 1280x800), let it run `warmup` seconds, migrate it with `options`, stop both sides.
    public static func run(workload: BenchWorkload, ramBytes: UInt64, mode: TrackingMode, warmup: Double,
                           options: MigrationOptions, device: String) -> MigrationBenchRecord {
        var rec = MigrationBenchRecord(guest: workload.label, ramBytes: ramBytes, mode: mode.rawValue)
        do {
            let system = try KVMSystem(path: device)
            let caps = try HostCapabilities(system: system)
            let image = try GuestCatalog.load(workload.guest)
            var config = MachineConfig(image: image)
            config.arguments = workload.arguments
            config.ramBytes = ramBytes
            config.guestHz = 60
            let plan = try TrackingPlan.make(mode: mode, ringEntries: TrackingPlan.defaultRingEntries, caps: caps, migration: false)
            let tile = TileSize(width: 64, height: 16)
            let source = try TrackingSession(system: system, config: config, plan: plan, tile: tile, migration: false)
            let sync = SyncLoop(period: 1 / 60.0) { _ = try? source.sync() }
            source.machine.start()
            sync.start()
            defer { sync.stop(); source.machine.stop(); source.machine.wait() }

            let port = PortBox()
            let destination = DestinationThread()
            destination.start {
                try MigrationDestination.receiveBlocking(host: "127.0.0.1", port: 0, listening: { port.set($0) }, build: { wire, image in
                    try TrackingSession(system: system, config: wire.machineConfig(image: image), plan: plan, tile: tile, migration: false, incoming: true)
                }, progress: { _ in })
            }
            Thread.sleep(forTimeInterval: warmup)
            rec.takeMedianUs = try medianTakeMicroseconds(source, samples: 30)
            guard let p = port.wait(seconds: 10) else { throw MigrationError.connectionLost("the destination did not listen") }
            let r = try MigrationSource.migrateBlocking(source, host: "127.0.0.1", port: p, image: image, options: options, progress: { _ in })
            let (dest, dreport) = try destination.join()
            dest.machine.stop(); dest.machine.wait()
            rec.rounds = r.rounds.count
            rec.converged = r.converged
            rec.pagesSent = r.rounds.reduce(0) { $0 + $1.pages }
            rec.bytesSent = r.totalBytes
            rec.seconds = r.seconds
            rec.downtimeMs = r.downtimeSeconds * 1000
            rec.destinationDowntimeMs = dreport.downtimeSeconds * 1000
            rec.finalPages = r.finalPages
            let later = r.rounds.dropFirst().dropLast()
            rec.laterRoundMs = later.isEmpty ? 0 : later.reduce(0) { $0 + $1.seconds } / Double(later.count) * 1000
            let syncs = r.rounds.dropFirst()
            rec.laterSyncUs = syncs.isEmpty ? 0 : syncs.reduce(0) { $0 + $1.syncSeconds } / Double(syncs.count) * 1e6
        } catch {
            rec.failure = "\(error)"
        }
        return rec
    }
}

/// Subscribes a migration list (RAM logging on), takes the whole memory once, then times
/// `samples` takes 16 ms apart while the guest runs: each is a sync plus a set hand-over.
private func medianTakeMicroseconds(_ session: TrackingSession, samples: Int) throws -> Double {
    let sub = try session.subscribeMigration()
    defer { try? session.unsubscribe(sub) }
    _ = try session.take(sub)
    var times: [Double] = []
    for _ in 0..<samples {
        Thread.sleep(forTimeInterval: 0.016)
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try session.take(sub)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000)
    }
    times.sort()
    return times[times.count / 2]
}

private final class PortBox: @unchecked Sendable {
    private let cond = NSCondition()
    private var port: Int?
    func set(_ p: Int) { cond.lock(); port = p; cond.broadcast(); cond.unlock() }
    func wait(seconds: Double) -> Int? {
        cond.lock(); defer { cond.unlock() }
        let deadline = Date(timeIntervalSinceNow: seconds)
        while port == nil { if !cond.wait(until: deadline) { break } }
        return port
    }
}

private final class DestinationThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<(TrackingSession, MigrationDestination.Report), Error>?
    func start(_ body: @escaping @Sendable () throws -> (TrackingSession, MigrationDestination.Report)) {
        Thread { [self] in
            result = Result { try body() }
            done.signal()
        }.start()
    }
    func join() throws -> (TrackingSession, MigrationDestination.Report) {
        done.wait()
        return try result!.get()
    }
}

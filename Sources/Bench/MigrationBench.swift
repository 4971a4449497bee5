import Dispatch
import GuestSession
import NIOPosix
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
    /// What the source's budget estimate expected when it paused the guest.
    public var expectedDowntimeMs = 0.0
    public var finalPages = 0
    /// Mean seconds of the rounds after round 0 (the dirty-list rounds).
    public var laterRoundMs = 0.0
    /// Mean time to take the page set in the rounds after round 0, the last (paused) one included:
    /// a sync over the logged slots. The ring's follows what was dirtied; the bitmap's walks all of RAM.
    public var laterSyncUs = 0.0
    /// Median of 30 dirty-list takes 16 ms apart before the migration, with RAM logged: the
    /// per-round sync cost with enough samples to compare RAM sizes on a noisy host.
    public var takeMedianUs = 0.0
    /// `--compress` of the cell, and what the source reported of it.
    public var compression = "off"
    public var compressionReport = MigrationReport.Compression()
    public var failure: String?
    /// The source abandoned the attempt in one line (it did not converge within the budget)
    /// and the guest ran on there: the budget's rule, not a failure.
    public var abandoned = false
}

public enum MigrationBench {
    /// Runs one cell: boot `workload` with `ramBytes` of RAM under `mode` (paced at 60 Hz,
    /// 1280x800) as `ringside run` does, let it run `warmup` seconds, migrate it with
    /// `options` to a destination built as `ringside receive` builds one, stop both sides.
    public static func run(workload: BenchWorkload, ramBytes: UInt64, mode: TrackingMode, warmup: Double,
                           options: MigrationOptions, device: String) -> MigrationBenchRecord {
        var rec = MigrationBenchRecord(guest: workload.label, ramBytes: ramBytes, mode: mode.rawValue)
        rec.compression = options.compression.rawValue
        do {
            let system = try KVMSystem(path: device)
            let caps = try HostCapabilities(system: system)
            let image = try GuestCatalog.load(workload.guest)
            var config = MachineConfig(image: image)
            config.arguments = workload.arguments
            config.modules = try workload.bootModules(maxBytes: ramBytes)
            config.ramBytes = ramBytes
            config.guestHz = 60
            var settings = SessionSettings(mode: mode, ringEntries: TrackingPlan.defaultRingEntries, tile: TileSize(width: 64, height: 16))
            settings.refreshHz = 60
            let source = try GuestSession.boot(system: system, caps: caps, config: config, settings: settings, events: SessionEvents())
            source.start()
            defer { source.requestStop(); _ = try? source.finish() }

            let loop = MultiThreadedEventLoopGroup.singleton.any()
            let listening = loop.makePromise(of: Int.self)
            let destination = loop.makeFutureWithTask { [settings] in
                try await GuestSession.receive(system: system, caps: caps, from: IncomingMigration(host: "127.0.0.1", port: 0, timeout: 30, memoryLimit: nil),
                                               settings: settings, events: SessionEvents(), listening: { listening.succeed($0) }, progress: { _ in })
            }
            destination.whenFailure { listening.fail($0) } // no port is coming
            Thread.sleep(forTimeInterval: warmup)
            rec.takeMedianUs = try medianTakeMicroseconds(source.tracking, samples: 30)
            let port = try listening.futureResult.wait()
            let r = try MigrationSource.migrateBlocking(source.tracking, host: "127.0.0.1", port: port, image: image, options: options, progress: { _ in })
            let (dest, dreport) = try destination.wait()
            dest.machine.stop()
            dest.machine.wait()
            rec.fill(from: r, destination: dreport)
        } catch {
            rec.failure = "\(error)"
            if case MigrationError.didNotConverge = error { rec.abandoned = true }
        }
        return rec
    }
}

extension MigrationBenchRecord {
    mutating func fill(from r: MigrationReport, destination: MigrationDestination.Report) {
        rounds = r.rounds.count
        converged = r.converged
        pagesSent = r.rounds.reduce(0) { $0 + $1.pages }
        bytesSent = r.totalBytes
        seconds = r.seconds
        downtimeMs = r.downtimeSeconds * 1000
        destinationDowntimeMs = destination.downtimeSeconds * 1000
        expectedDowntimeMs = r.expectedDowntimeSeconds * 1000
        finalPages = r.finalPages
        compressionReport = r.compression
        let later = r.rounds.dropFirst().dropLast()
        laterRoundMs = later.isEmpty ? 0 : later.reduce(0) { $0 + $1.seconds } / Double(later.count) * 1000
        let syncs = r.rounds.dropFirst()
        laterSyncUs = syncs.isEmpty ? 0 : syncs.reduce(0) { $0 + $1.syncSeconds } / Double(syncs.count) * 1e6
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

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import QEMUPeer
import Synchronization

/// The guest's frame counter in two VMM processes at once (source and destination of a
/// migration), stamped with host time: the guest-visible downtime is the gap between the
/// source's last frame and the destination's next one, measured the same way for both VMMs.
final class FrameWatch: Sendable {
    /// Each new count and when it was first seen; the RAM once found (the poller's own).
    private let state = Mutex<(series: [(nanos: UInt64, frames: UInt64)], ram: GuestRAMView?)>(([], nil))
    private let poller = Poller(name: "frame-watch")

    /// Polls `pid`'s guest RAM every 200 us, once it has arrived (GuestRAMView follows the
    /// mapping the guest runs from).
    init(pid: Int32) {
        poller.start { [self] in
            let ram = state.withLock { s in
                if s.ram == nil { s.ram = GuestRAMView.find(pid: pid) }
                return s.ram
            }
            if let f = ram?.frames {
                let now = DispatchTime.now().uptimeNanoseconds
                state.withLock { s in if s.series.last?.frames != f { s.series.append((now, f)) } }
            }
            return ram == nil ? 2_000 : 200
        }
    }

    func stop() { poller.stop() }

    /// The last count seen and when it was first seen.
    var last: (nanos: UInt64, frames: UInt64)? { state.withLock { $0.series.last } }

    /// When the count first went past `frames`.
    func firstPast(_ frames: UInt64) -> UInt64? { state.withLock { $0.series.first { $0.frames > frames }?.nanos } }
}

extension PeerBench {
    /// Each (RAM size, budget) migrates `plan.migrationRepeats` times per VMM, the VMMs taking
    /// turns; a record holds the median of each figure and every sample in its note.
    func migrationCells(_ g: PeerGuest, _ events: Events) throws {
        for ram in plan.migrationRAM {
            for budget in plan.migrationBudgetsMs {
                var guest = g
                guest.ramBytes = ram
                var samples: [String: [PeerRecord]] = [:]
                for turn in 1...plan.migrationRepeats {
                    for vmm in ["ringside", "qemu"] {
                        if stopping { return }
                        events.progress("\(vmm): migrating \(g.label) with \(ram >> 20) MiB of RAM over loopback, downtime budget \(Int(budget)) ms (\(turn) of \(plan.migrationRepeats))")
                        var r = record(vmm, "migration", guest)
                        r.ramBytes = ram
                        r.downtimeBudgetMs = budget
                        if vmm == "qemu" { try migrateQEMU(guest, budget: budget, into: &r) } else { try migrateRingside(guest, budget: budget, into: &r) }
                        samples[vmm, default: []].append(r)
                    }
                }
                for vmm in ["ringside", "qemu"] { if let all = samples[vmm] { events.record(Self.median(all)) } }
            }
        }
    }

    /// The first record with each migration figure replaced by the median over `all`.
    static func median(_ all: [PeerRecord]) -> PeerRecord {
        var r = all[0]
        func mid(_ path: KeyPath<PeerRecord, Double?>) -> Double? { all.compactMap { $0[keyPath: path] }.sorted().quantile(0.5) }
        r.reportedDowntimeMs = mid(\.reportedDowntimeMs)
        r.guestVisibleDowntimeMs = mid(\.guestVisibleDowntimeMs)
        r.totalSeconds = mid(\.totalSeconds)
        r.bytesSent = mid(\.bytesSent)
        r.peakRSSBytes = all.compactMap(\.peakRSSBytes).max()
        func list(_ path: KeyPath<PeerRecord, Double?>, _ f: String) -> String { all.map { $0[keyPath: path].map { String(format: f, $0) } ?? "-" }.joined(separator: ", ") }
        r.note = "median of \(all.count): downtime reported \(list(\.reportedDowntimeMs, "%.1f")) ms; guest-visible \(list(\.guestVisibleDowntimeMs, "%.1f")) ms; "
            + "total \(list(\.totalSeconds, "%.3f")) s"
        return r
    }

    private func freePort() -> Int {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Waits until the destination's guest has gone past the source's last frame.
    private func visibleDowntime(source: FrameWatch, destination: FrameWatch, seconds: Double = 30) throws -> Double {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while true {
            if let last = source.last, let resumed = destination.firstPast(last.frames) {
                return Double(Int64(resumed) - Int64(last.nanos)) / 1e6
            }
            guard Date() < deadline else {
                throw PeerBenchError("the guest did not run on the destination within \(Int(seconds)) s (source's last frame \(source.last.map { "\($0.frames)" } ?? "none"), destination's \(destination.last.map { "\($0.frames)" } ?? "none"))")
            }
            usleep(10_000)
        }
    }

    private func migrateRingside(_ g: PeerGuest, budget: Double, into r: inout PeerRecord) throws {
        let port = freePort()
        let lines = LineLog()
        let destination = try VMMProcess([executable, "receive", "--listen", "127.0.0.1:\(port)", "--headless"], stdout: { lines.append($0) }, stderr: { lines.append($0) })
        defer { destination.terminate(grace: 20) }
        let ready = Date(timeIntervalSinceNow: 30)
        while !lines.contains("waiting for a migration") {
            guard Date() < ready, destination.exitStatus == nil else { throw PeerBenchError("ringside receive did not listen: \(lines.last ?? "")") }
            usleep(10_000)
        }
        let destinationWatch = FrameWatch(pid: destination.pid)
        defer { destinationWatch.stop() }
        let source = try RingsideVMM(executable: executable, guest: g, vnc: false,
                                     extra: ["--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "\(plan.migrateAfter)", "--max-downtime", "\(budget)"],
                                     output: { lines.append($0) })
        defer { source.stop() }
        let sourceWatch = FrameWatch(pid: source.pid)
        defer { sourceWatch.stop() }
        let deadline = Date(timeIntervalSinceNow: plan.migrateAfter + 120)
        var peak: UInt64?
        while lines.first(prefix: "migrated to ") == nil {
            peak = [peak, source.peakRSS].compactMap { $0 }.max() // the source exits once it has migrated
            if let failed = lines.first(prefix: "ringside: migration") { throw PeerBenchError(failed) }
            guard Date() < deadline, source.process.exitStatus == nil || lines.first(prefix: "migrated to ") != nil else {
                throw PeerBenchError("ringside did not migrate: \(lines.last ?? "")")
            }
            usleep(10_000)
        }
        r.guestVisibleDowntimeMs = try visibleDowntime(source: sourceWatch, destination: destinationWatch)
        sourceWatch.stop()
        // "migrated to H:P: N rounds, X MiB in T s (R MiB/s), last round K pages; downtime D ms"
        let line = lines.first(prefix: "migrated to ") ?? ""
        r.reportedDowntimeMs = line.number(after: "downtime ")
        r.totalSeconds = line.number(before: " s (")
        r.bytesSent = line.number(before: " MiB in ").map { $0 * 1048576 }
        r.peakRSSBytes = [peak, source.peakRSS].compactMap { $0 }.max()
        r.settings += "; ringside receive on the destination, --max-downtime \(Int(budget))"
    }

    private func migrateQEMU(_ g: PeerGuest, budget: Double, into r: inout PeerRecord) throws {
        let port = freePort()
        var m = g.qemuMachine
        m.incoming = ("127.0.0.1", port)
        let destination = try QEMUInstance(m, installation: installation)
        defer { destination.quit() }
        setQEMUVersion(destination.version)
        let destinationWatch = FrameWatch(pid: destination.process.pid)
        defer { destinationWatch.stop() }
        let source = try QEMUVMM(installation: installation, guest: g, vnc: false)
        defer { source.stop() }
        let sourceWatch = FrameWatch(pid: source.pid)
        defer { sourceWatch.stop() }
        usleep(UInt32(plan.migrateAfter * 1e6))
        let qmp = source.instance.qmp
        // QEMU's default bandwidth cap (128 MiB/s) lifted, as Ringside has none by default.
        try qmp.execute("migrate-set-parameters", ["downtime-limit": Int(budget), "max-bandwidth": 100 << 30])
        try qmp.execute("migrate", ["uri": "tcp:127.0.0.1:\(port)"])
        let deadline = Date(timeIntervalSinceNow: 120)
        var info: [String: Any] = [:]
        while true {
            info = (try qmp.execute("query-migrate") as? [String: Any]) ?? [:]
            let status = info["status"] as? String ?? ""
            if status == "completed" { break }
            if status == "failed" || status == "cancelled" { throw PeerBenchError("QEMU's migration \(status): \(info["error-desc"] ?? "")") }
            guard Date() < deadline else { throw PeerBenchError("QEMU's migration did not complete in 120 s (\(status))") }
            usleep(5_000)
        }
        r.guestVisibleDowntimeMs = try visibleDowntime(source: sourceWatch, destination: destinationWatch)
        sourceWatch.stop()
        r.reportedDowntimeMs = (info["downtime"] as? NSNumber)?.doubleValue
        r.totalSeconds = (info["total-time"] as? NSNumber).map { $0.doubleValue / 1000 }
        r.bytesSent = ((info["ram"] as? [String: Any])?["transferred"] as? NSNumber)?.doubleValue
        r.peakRSSBytes = source.peakRSS
        r.settings += "; migrate to a second QEMU (-incoming tcp:), downtime-limit \(Int(budget)), max-bandwidth 100 GiB/s"
    }
}

extension String {
    /// The number right after `marker` ("downtime 7.2 ms" -> 7.2).
    func number(after marker: String) -> Double? {
        guard let r = range(of: marker) else { return nil }
        return Double(self[r.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    /// The number right before `marker` ("4.4 MiB in" -> 4.4).
    func number(before marker: String) -> Double? {
        guard let r = range(of: marker) else { return nil }
        return Double(String(self[..<r.lowerBound].reversed().prefix { $0.isNumber || $0 == "." }.reversed()))
    }
}

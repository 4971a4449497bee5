import ArgumentParser
import Foundation
import KVM
import NoLossCheck
import Tracking

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that this host's KVM dirty log loses no page (a self-check, like the kernel's dirty_log_test).",
        discussion: """
        The pagewriter guest writes its frame number into random pages of RAM and framebuffer \
        while a collector harvests concurrently. At random pauses a mirror of memory updated \
        only from the dirty log must equal guest memory, and the display's shadow must equal the \
        framebuffer; any difference is a page the log lost. Every mode and vCPU count asked for \
        is checked, with the smallest ring by default so ring-full exits happen often. \
        The pauses are shared out among the configurations. Ends with a table; exit status 0 \
        when nothing was lost, 1 when a page was lost (the line names the slot, page and frame) \
        or for bad input, 130 when interrupted.
        """
    )

    @Option(help: "Pauses to check in all, shared among the configurations.")
    var pauses = 3200
    @Option(help: "Tracking modes, comma-separated: ring, bitmap, compare, full, auto (auto switches method every 5 syncs).")
    var modes = "ring,bitmap,compare,full,auto"
    @Option(help: "vCPU counts, comma-separated (default 1 and, where the host allows, 2).")
    var cpus: String?
    @Option(name: .customLong("ring-entries"), help: "Dirty ring entries per vCPU (default: the smallest the host allows).")
    var ringEntries: Int?
    @Option(help: "Stop after S seconds in all, with what has been checked.")
    var seconds: Double?
    @Option(help: ArgumentHelp("Fault injection for tests: drop every N-th harvested page.", visibility: .hidden))
    var injectDropEvery = 0
    @Option(help: ArgumentHelp("KVM device path.", visibility: .hidden))
    var device = "/dev/kvm"

    func run() throws {
        runReportingFailures { try execute() }
    }

    private func execute() throws -> Int32 {
        guard (1...10_000_000).contains(pauses) else { throw Failure("--pauses \(pauses) is out of range: use 1...10000000") }
        if let seconds, !(seconds > 0 && seconds <= 86_400) { throw Failure("--seconds \(seconds) is out of range: use more than 0, at most 86400") }
        guard injectDropEvery >= 0 else { throw Failure("--inject-drop-every must be 0 or more") }
        let modeList = try trackingModes()
        let system = try KVMSystem(path: device)
        let caps = try HostCapabilities(system: system)
        let (cases, ring) = try plannedCases(modes: modeList, caps: caps)

        let stop = StopRequest()
        let interrupt = installInterruptHandler { stop.set() }
        defer { interrupt.cancel() }
        let start = Date()
        let deadline = seconds.map { start.addingTimeInterval($0) }
        Console.out("ringside verify: \(pauses) pauses over \(cases.count) configurations, ring \(ring) entries per vCPU, "
            + "pagewriter at 333x211 (pitch 1344), 16 MiB RAM" + (injectDropEvery > 0 ? "; FAULT INJECTED: every \(injectDropEvery)-th page dropped" : ""))
        let results = try check(cases, system: system, caps: caps, until: { stop.isSet || deadline.map { Date() >= $0 } == true })
        Console.out(Self.table(results))
        Console.out(String(format: "checked in %.1f s", Date().timeIntervalSince(start)))
        if let bad = results.first(where: { $0.pagesLost > 0 }) {
            throw Failure("LOST: \(bad.check): \(bad.firstLoss ?? "a page differs"); \(results.reduce(0) { $0 + $1.pagesLost }) lost in all")
        }
        if stop.isSet { Console.error("interrupted: the table shows what was checked"); return 130 }
        return 0
    }

    /// `--modes`, each one named.
    private func trackingModes() throws -> [TrackingMode] {
        var modeList: [TrackingMode] = []
        for name in modes.split(separator: ",") {
            guard let m = TrackingMode(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw Failure("--modes: unknown mode '\(name)' (use ring, bitmap, compare, full, auto)")
            }
            modeList.append(m)
        }
        guard !modeList.isEmpty else { throw Failure("--modes is empty (use ring, bitmap, compare, full, auto)") }
        return modeList
    }

    /// Every (vCPU count, mode) with its share of the pauses, and the ring size they use.
    private func plannedCases(modes modeList: [TrackingMode], caps: HostCapabilities) throws -> ([NoLossCase], Int) {
        var cpuList: [Int]
        if let cpus {
            cpuList = []
            for part in cpus.split(separator: ",") {
                guard let n = Int(part.trimmingCharacters(in: .whitespaces)), (1...caps.usableVCPUs).contains(n) else {
                    throw Failure("--cpus: '\(part)' is not a vCPU count this host allows (1...\(caps.usableVCPUs))")
                }
                cpuList.append(n)
            }
        } else {
            cpuList = caps.usableVCPUs >= 2 ? [1, 2] : [1]
        }
        let ring = ringEntries ?? TrackingPlan.ringEntryRange(caps)?.lowerBound ?? TrackingPlan.defaultRingEntries
        if modeList.contains(.ring), let range = TrackingPlan.ringEntryRange(caps) {
            guard ring > 0, ring & (ring - 1) == 0, range.contains(ring) else {
                throw Failure("--ring-entries \(ring) is invalid: use a power of two from \(range.lowerBound) to \(range.upperBound)")
            }
        }
        let configs = cpuList.flatMap { n in modeList.map { (n, $0) } }
        let per = pauses / configs.count, extra = pauses % configs.count
        let cases = configs.enumerated().map { i, c in NoLossCase(mode: c.1, cpus: c.0, ringEntries: ring, pauses: per + (i < extra ? 1 : 0)) }
            .filter { $0.pauses > 0 }
        return (cases, ring)
    }

    /// Runs the cases in turn, a line each, until `stopped` says so.
    private func check(_ cases: [NoLossCase], system: KVMSystem, caps: HostCapabilities,
                       until stopped: @escaping () -> Bool) throws -> [NoLossResult] {
        var results: [NoLossResult] = []
        for (i, c) in cases.enumerated() {
            if stopped() { break }
            let label = "[\(i + 1)/\(cases.count)] \(c)"
            let r: NoLossResult
            do {
                r = try NoLossRun.run(c, system: system, caps: caps, seed: UInt64(i + 1), dropEvery: injectDropEvery,
                                      progress: { done in Console.progress("\(label): \(done)/\(c.pauses) pauses") },
                                      shouldStop: stopped)
            } catch { throw Failure("\(label): \(error)") }
            Console.progress(nil)
            Console.out("\(label): \(r.pauses) pauses, \(r.pagesLost) lost" + (r.trackingUsed != c.mode ? " (the host used \(r.trackingUsed.rawValue))" : ""))
            results.append(r)
        }
        return results
    }

    static func table(_ rows: [NoLossResult]) -> String {
        var lines = ["| mode | vCPUs | pauses | pages compared | pages lost | ring-full exits | duplicates | syncs | guest frames | seconds |",
                     "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows {
            lines.append("| \(r.trackingUsed.rawValue) | \(r.check.cpus) | \(r.pauses) | \(r.pagesCompared) | \(r.pagesLost) | \(r.ringFullExits) | "
                + "\(r.duplicates) | \(r.syncs) | \(r.guestFrames) | \(String(format: "%.1f", r.seconds)) |")
        }
        return lines.joined(separator: "\n")
    }
}

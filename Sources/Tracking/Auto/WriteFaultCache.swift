import Foundation
import Machine

/// The write-fault probe's result kept on disk for the rest of this boot, so that a process
/// with `--tracking auto` (a restore, as a rule, where the first frame should come at once)
/// does not spend 0.15-0.6 s measuring what an earlier process on this host already measured.
/// It is a host property that drifts with load: the file is keyed by the kernel's boot id and
/// the logging kind, is used for an hour after it was measured, and anything that does not
/// parse is ignored and measured again. `ringside info` measures afresh and replaces it.
/// `RINGSIDE_WRITE_FAULT_CACHE=off` turns it off.
enum WriteFaultCache {
    private static let format = "ringside-write-fault 1"
    /// How long a measurement is used (s).
    static let lifetime: Double = 3600

    /// Seconds since boot (the monotonic clock, which the boot id scopes).
    static var now: Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    static var enabled: Bool { ProcessInfo.processInfo.environment["RINGSIDE_WRITE_FAULT_CACHE"] != "off" }

    /// `$XDG_CACHE_HOME/ringside/write-fault-KIND`, else `~/.cache/ringside/write-fault-KIND`.
    static func path(_ logging: DirtyLogging) -> String { BuiltGuest.cacheDirectory + "/write-fault-" + kind(logging) }

    static func kind(_ logging: DirtyLogging) -> String {
        switch logging {
        case .none: return "none"
        case .ring(_, let acquireRelease): return acquireRelease ? "ring-acq-rel" : "ring"
        case .bitmap(let manualProtect): return manualProtect != 0 ? "bitmap-clear" : "bitmap"
        }
    }

    static var bootID: String? {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The result stored in this boot for `logging`, or nil.
    static func load(_ logging: DirtyLogging, file: String? = nil) -> WriteFaultCost? {
        guard enabled, let boot = bootID, let text = try? String(contentsOfFile: file ?? path(logging), encoding: .utf8) else { return nil }
        return parse(text, boot: boot, now: now)
    }

    static func parse(_ text: String, boot: String, now: Double) -> WriteFaultCost? {
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count == 4, lines[0] == format, lines[1] == "boot " + boot,
              lines[2].hasPrefix("measured "), let at = Double(lines[2].dropFirst(9)), now >= at, now - at <= lifetime else { return nil }
        let n = lines[3].split(separator: " ").compactMap { Double($0) }
        guard n.count == 5, n.allSatisfy({ $0.isFinite && $0 >= 0 && $0 < 1e12 }), n[0] > 0 else { return nil }
        return WriteFaultCost(nanosPerPage: n[0], loggedFrameNanos: n[1], unloggedFrameNanos: n[2], pagesPerFrame: n[3],
                              probeNanos: UInt64(n[4]))
    }

    static func render(_ cost: WriteFaultCost, boot: String, at: Double) -> String {
        "\(format)\nboot \(boot)\nmeasured \(at)\n\(cost.nanosPerPage) \(cost.loggedFrameNanos) \(cost.unloggedFrameNanos) \(cost.pagesPerFrame) \(cost.probeNanos)\n"
    }

    /// Stores `cost` (written to a temporary file and renamed, so a reader sees all or nothing);
    /// a cache that cannot be written is no error: the next process measures again.
    /// A cost of 0 (the logged frames were no slower: a measurement spoiled by load) is not kept.
    static func store(_ cost: WriteFaultCost, _ logging: DirtyLogging, file: String? = nil) {
        guard enabled, cost.nanosPerPage > 0, let boot = bootID else { return }
        let file = file ?? path(logging)
        let dir = (file as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let temporary = file + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(render(cost, boot: boot, at: now).utf8)) else { return }
        if rename(temporary, file) != 0 { unlink(temporary) }
    }
}

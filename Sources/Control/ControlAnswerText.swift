import Foundation

/// An answer as `ringside ctl` prints it without `--json`: a few lines for a person.
public enum ControlAnswerText {
    public static func lines(_ a: ControlAnswer) -> [String] {
        guard a.ok else { return [a.error ?? "the request failed"] }
        switch a.command {
        case "status": return a.status.map(status) ?? []
        case "pause":
            let frames = a.frames.map { " at frame " + $0.map(String.init).joined(separator: "/") } ?? ""
            return [(a.changed == false ? "already paused" : "paused") + frames]
        case "resume": return [a.changed == false ? "was not paused" : "resumed"]
        case "migrate": return ["migrating to \(a.to ?? "?") ('status' shows its progress)"]
        case "cancel": return ["cancelled the migration to \(a.to ?? "?"); the guest keeps running here"]
        case "snapshot": return a.snapshot.map { [snapshot($0)] } ?? []
        case "quit": return ["the guest is stopping"]
        default: return []
        }
    }

    static func status(_ s: StatusAnswer) -> [String] {
        if s.state == "waiting" { return ["waiting: \(s.waiting ?? "no guest yet")"] }
        var lines: [String] = []
        let cpus = s.cpus ?? 1
        lines.append("guest: \(s.image ?? "?") at \(s.width ?? 0)x\(s.height ?? 0), \(cpus) vCPU\(cpus == 1 ? "" : "s"), "
            + "\((s.ramBytes ?? 0) >> 20) MiB RAM: \(s.state)")
        let frames = (s.frames ?? []).map(String.init).joined(separator: "/")
        lines.append(String(format: "frames: %@ (%.1f/s); up %.1f s, guest clock %.1f s", frames, s.framesPerSecond ?? 0,
                            s.uptimeSeconds ?? 0, s.guestUptimeSeconds ?? 0))
        lines.append("tracking: \(s.tracking ?? "?") (display \(s.displayMethod ?? "?"))")
        if let m = s.migration { lines.append(migration(m)) }
        if let last = s.lastSnapshot { lines.append("last snapshot: \(last)") }
        return lines
    }

    static func migration(_ m: MigrationAnswer) -> String {
        var text = "migration to \(m.to): \(m.state)"
        if let attempt = m.attempt { text += ", attempt \(attempt)" }
        if let round = m.round {
            text += String(format: ", round %d: %d pages left at %.1f MiB/s, expected downtime %.1f ms", round, m.pagesLeft ?? 0,
                           (m.bytesPerSecond ?? 0) / 1_048_576, m.expectedDowntimeMs ?? 0)
        }
        if let slowed = m.slowdownPercent { text += ", guest slowed by \(slowed)% (auto-converge)" }
        if let why = m.failure { text += " (\(why))" }
        return text
    }

    static func snapshot(_ s: SnapshotAnswer) -> String {
        String(format: "wrote %@ snapshot %@ (id %@%@): %d pages, %.1f MiB in %.3f s", s.kind, s.file, s.id,
               s.base.map { ", after \($0)" } ?? "", s.pages, Double(s.bytes) / 1_048_576, s.seconds)
    }
}

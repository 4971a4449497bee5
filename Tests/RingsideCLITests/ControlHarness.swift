import Foundation
import TestSupport
import XCTest

/// `ringside ctl` from the tests: each call a real process over the real socket, its answer
/// read as the JSON docs/control.md documents (parsed here with JSONSerialization, not the
/// Control target's own types).
enum Ctl {
    struct Answer {
        let status: Int32
        let json: [String: Any]
        let err: String
        var ok: Bool { json["ok"] as? Bool == true }
        var error: String? { json["error"] as? String }
        var statusObject: [String: Any] { json["status"] as? [String: Any] ?? [:] }
        var frames: [Int] { statusObject["frames"] as? [Int] ?? [] }
        var state: String? { statusObject["state"] as? String }
        var migration: [String: Any]? { statusObject["migration"] as? [String: Any] }
    }

    /// `ringside ctl socket words... --json`.
    static func json(_ socket: String, _ words: [String]) throws -> Answer {
        let r = try runRingside(["ctl", socket] + words + ["--json"], timeout: 60)
        let line = r.out.split(separator: "\n").first.map(String.init) ?? ""
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        return Answer(status: r.status, json: object, err: r.err)
    }

    /// Waits until `status` answers (the process has bound its socket and has a guest).
    static func waitForGuest(_ socket: String, _ process: RingsideProcess, timeout: Double = 60) throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: socket), let a = try? json(socket, ["status"]), a.ok, a.state != "waiting" { return }
            guard process.isRunning else { throw ControlTestFailure("the process ended before its socket answered\n\(process.transcript)") }
            usleep(50_000)
        }
        throw ControlTestFailure("\(socket) did not answer within \(Int(timeout)) s\n\(process.transcript)")
    }

    /// Waits until `predicate` holds for a status answer; throws with the last one after `timeout`.
    @discardableResult
    static func waitForStatus(_ socket: String, timeout: Double = 60, _ what: String, _ predicate: (Answer) -> Bool) throws -> Answer {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var last: Answer?
        while Date() < deadline {
            let a = try json(socket, ["status"])
            if predicate(a) { return a }
            last = a
            usleep(50_000)
        }
        throw ControlTestFailure("\(what) within \(Int(timeout)) s; last status: \(last?.json ?? [:])")
    }

    static func tempDir(_ test: XCTestCase) throws -> String {
        // Short: a Unix socket's path holds at most 107 bytes.
        let d = "/tmp/rsctl-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }
}

struct ControlTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import Foundation

/// One answer on the control socket: a JSON object on one line (docs/control.md). `ok` says
/// whether the request was carried out; `error` is the one line saying why not; the other
/// fields belong to the command. Fields that do not apply are left out.
public struct ControlAnswer: Codable, Equatable, Sendable {
    public var ok: Bool
    public var command: String?
    public var error: String?
    /// `status`.
    public var status: StatusAnswer?
    /// `pause` and `resume`: whether the guest's state changed (false: it was so already).
    public var changed: Bool?
    /// `pause`: the frames each vCPU had completed.
    public var frames: [Int]?
    /// `migrate` and `cancel`: the destination.
    public var to: String?
    /// `snapshot`.
    public var snapshot: SnapshotAnswer?

    public init(ok: Bool, command: String? = nil, error: String? = nil) {
        self.ok = ok
        self.command = command
        self.error = error
    }

    public static func failure(_ command: String?, _ error: String) -> ControlAnswer {
        ControlAnswer(ok: false, command: command, error: error)
    }

    /// The answer as one line of JSON (keys sorted), without the newline.
    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(self), let text = String(data: data, encoding: .utf8) else {
            return #"{"error":"the answer could not be encoded","ok":false}"#
        }
        return text
    }

    /// Reads an answer line; nil when it is not one.
    public static func parse(_ line: String) -> ControlAnswer? {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try? decoder.decode(ControlAnswer.self, from: Data(line.utf8))
    }
}

/// `status`: the guest, and its outgoing migration while there is one.
public struct StatusAnswer: Codable, Equatable, Sendable {
    /// running, paused, migrating, stopped, or waiting (`receive` before a guest arrived).
    public var state: String
    public var image: String?
    public var imagePath: String?
    public var width: Int?
    public var height: Int?
    public var pitch: Int?
    public var cpus: Int?
    public var ramBytes: UInt64?
    public var frames: [Int]?
    public var framesPerSecond: Double?
    public var tracking: String?
    public var displayMethod: String?
    public var uptimeSeconds: Double?
    public var guestUptimeSeconds: Double?
    public var paused: Bool?
    public var lastSnapshot: String?
    public var migration: MigrationAnswer?
    /// `receive` before a guest arrived: where it waits.
    public var waiting: String?

    public init(state: String) { self.state = state }
}

public struct MigrationAnswer: Codable, Equatable, Sendable {
    public var to: String
    /// waiting, running, migrated, failed, cancelled, outcome-unknown.
    public var state: String
    public var attempt: Int?
    /// The latest pre-copy round's number.
    public var round: Int?
    public var roundPages: Int?
    /// Pages dirty after that round.
    public var pagesLeft: Int?
    public var bytesPerSecond: Double?
    public var expectedDowntimeMs: Double?
    /// How much auto-converge has slowed the guest (percent of its pace), when it has.
    public var slowdownPercent: Int?
    public var failure: String?
    public var line: String

    public init(to: String, state: String, line: String) {
        self.to = to
        self.state = state
        self.line = line
    }
}

public struct SnapshotAnswer: Codable, Equatable, Sendable {
    public var file: String
    /// full or incremental.
    public var kind: String
    public var id: String
    public var base: String?
    public var sequence: UInt64
    public var pages: Int
    public var bytes: Int
    public var seconds: Double

    public init(file: String, kind: String, id: String, base: String?, sequence: UInt64, pages: Int, bytes: Int, seconds: Double) {
        self.file = file
        self.kind = kind
        self.id = id
        self.base = base
        self.sequence = sequence
        self.pages = pages
        self.bytes = bytes
        self.seconds = seconds
    }
}

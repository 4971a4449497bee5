import Foundation

/// The fuzz targets: each takes any bytes and must return, never trap, hang or allocate
/// without bound. The libFuzzer binaries (Fuzz/, `scripts/fuzz.sh`) and the corpus test
/// (Tests/FuzzEntriesTests, over Tests/FuzzCorpus) call the same `run`.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `MigrationWire.decode` and the framing, with a re-encoding check.
    case migrationDecoder = "migration-decoder"
    /// A stream of frames through the destination's checks and state application.
    case destination
    /// `SnapshotReader` over a file's bytes, as they are and with their checksums made right.
    case snapshotReader = "snapshot-reader"
    /// The VNC server's `ClientMessageParser`, fed at once and byte by byte.
    case rfbClient = "rfb-client"
    /// The control socket's request lines (`ControlRequest.parse`), with a round-trip check.
    case controlLine = "control-line"

    public func run(_ bytes: [UInt8]) -> FuzzOutcome {
        switch self {
        case .migrationDecoder: return WireFuzz.run(bytes)
        case .destination: return DestinationFuzz.run(bytes)
        case .snapshotReader: return SnapshotFuzz.run(bytes)
        case .rfbClient: return RFBClientFuzz.run(bytes)
        case .controlLine: return ControlLineFuzz.run(bytes)
        }
    }

    /// For a libFuzzer binary: runs one input and stops the process on a broken invariant.
    public func fuzz(_ bytes: [UInt8]) {
        let outcome = run(bytes)
        if !outcome.violations.isEmpty { fatalError("\(rawValue): \(outcome.violations.joined(separator: "; "))") }
    }

    /// With RINGSIDE_FUZZ_SEEDS_TO=DIR in the environment: writes the seeds to DIR and ends the
    /// process (`scripts/fuzz.sh seeds`).
    public func writeSeedsIfAsked() {
        guard let dir = ProcessInfo.processInfo.environment["RINGSIDE_FUZZ_SEEDS_TO"] else { return }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for seed in seeds { try Data(seed.bytes).write(to: URL(fileURLWithPath: "\(dir)/seed-\(seed.name)")) }
        } catch {
            fatalError("cannot write the seeds of \(rawValue) to \(dir): \(error)")
        }
        exit(0)
    }

    /// Small valid inputs to start from (`scripts/fuzz.sh seeds` writes them to Tests/FuzzCorpus).
    public var seeds: [(name: String, bytes: [UInt8])] {
        switch self {
        case .migrationDecoder: return FuzzSeeds.wire()
        case .destination: return FuzzSeeds.destination()
        case .snapshotReader: return FuzzSeeds.snapshots()
        case .rfbClient: return FuzzSeeds.rfb()
        case .controlLine: return FuzzSeeds.control()
        }
    }
}

/// What one input did: how much was taken, the line it was refused with, and any broken
/// invariant (a libFuzzer binary aborts on one; the corpus test fails).
public struct FuzzOutcome: Sendable {
    /// Messages, sections or requests taken.
    public var accepted = 0
    /// The error that ended the input, as the user would see it.
    public var refusals: [String] = []
    /// Invariants that did not hold: each is a bug.
    public var violations: [String] = []

    public init() {}

    /// Records an error's line; one that is empty or more than one line is a violation.
    mutating func refuse(_ error: Error) {
        let line = "\(error)"
        if line.isEmpty || line.contains("\n") { violations.append("an error that is not one line: \(line.debugDescription)") }
        refusals.append(line)
    }

    mutating func merge(_ other: FuzzOutcome) {
        accepted += other.accepted
        refusals += other.refusals
        violations += other.violations
    }
}

import Foundation
import TestSupport
import XCTest

/// Two network namespaces joined by `Tests/scripts/link_emulator.py`: a TUN device in each and
/// one forwarder holding both, which delays every packet 25 ms each way (50 ms round trip),
/// loses 5% at random (seeded) and limits each way to 10 Mbit/s. The kernel here has no netem
/// qdisc, so the link is the tests' own. Made for one test; the forwarder is stopped and the
/// namespaces deleted after it, even when it fails.
final class SlowLink {
    static let sourceAddress = "10.78.0.1", destinationAddress = "10.78.0.2"
    static let oneWayMs = 25.0, loss = 0.05, rateMbit = 10.0
    static var roundTripMs: Double { 2 * oneWayMs }

    let source: String
    let destination: String
    let forwarder: RingsideProcess

    private init(source: String, destination: String, forwarder: RingsideProcess) {
        self.source = source
        self.destination = destination
        self.forwarder = forwarder
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/link_emulator.py").path
    }

    /// Skips (fails in CI) without root, `ip`, `/dev/net/tun` or python3; fails on any later
    /// setup error. `seed` picks the losses.
    static func make(_ test: XCTestCase, seed: Int = 1) throws -> SlowLink {
        guard geteuid() == 0 else { throw unmetRequirement("needs root to create network namespaces and TUN devices") }
        guard FileManager.default.isExecutableFile(atPath: MigrationNet.ip) else {
            throw unmetRequirement("needs the ip command (apt-get install iproute2)")
        }
        guard FileManager.default.fileExists(atPath: "/dev/net/tun") else {
            throw unmetRequirement("needs /dev/net/tun for the link emulator's TUN devices (modprobe tun)")
        }
        let python = try requireTool("python3", install: "apt-get install python3")
        let tag = "\(getpid() % 100_000)-\(UInt16.random(in: 0...UInt16.max))"
        let source = "rs-slow-src-\(tag)", destination = "rs-slow-dst-\(tag)"
        test.addTeardownBlock {
            MigrationNet.ipCommand(["netns", "delete", source])
            MigrationNet.ipCommand(["netns", "delete", destination])
        }
        for ns in [source, destination] {
            let r = MigrationNet.ipCommand(["netns", "add", ns])
            guard r.status == 0 else {
                throw unmetRequirement("ip netns is not available here: \(r.err.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
        let forwarder = try RingsideProcess("link emulator", executable: URL(fileURLWithPath: python), [
            script, "--a", source, "--b", destination, "--addr-a", sourceAddress, "--addr-b", destinationAddress,
            "--delay-ms", "\(oneWayMs)", "--loss", "\(loss)", "--rate-mbit", "\(rateMbit)", "--seed", "\(seed)",
        ])
        // Stopped before the namespaces go (teardown blocks run last added, first).
        test.addTeardownBlock {
            forwarder.signal(SIGTERM)
            _ = forwarder.exitStatus(timeout: 30)
        }
        guard forwarder.waitForOutput("link ready\n", timeout: 60) else {
            throw MigrationNet.SetupFailure(description: "the link emulator did not come up: \(forwarder.transcript)")
        }
        return SlowLink(source: source, destination: destination, forwarder: forwarder)
    }

    /// Stops the forwarder and returns its counts (one line per direction), for failure
    /// messages and to check that the link did lose packets.
    func stop() -> String {
        forwarder.signal(SIGTERM)
        _ = forwarder.exitStatus(timeout: 30)
        return forwarder.out
    }

    /// Packets lost at random in both directions, from the forwarder's closing lines.
    static func lostPackets(_ summary: String) -> Int {
        summary.split(separator: "\n").compactMap { line -> Int? in
            guard let r = line.range(of: " lost at random") else { return nil }
            return Int(line[..<r.lowerBound].split(separator: " ").last ?? "")
        }.reduce(0, +)
    }
}

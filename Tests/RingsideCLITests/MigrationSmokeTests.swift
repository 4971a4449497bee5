import Foundation
import TestSupport
import XCTest

/// Live migration between two real ringside processes over loopback: the destination's
/// picture of frame N equals a never-migrated run's, and a source whose destination refuses
/// keeps its guest running.
final class MigrationSmokeTests: XCTestCase {
    typealias Running = SignalTests.Running

    func requireKVMDevice() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm: this machine has no KVM") }
    }

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "ringside-mig-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    /// Starts `ringside receive` on a free port; returns it and the port it printed.
    func receive(_ extra: [String]) throws -> (Running, Int) {
        let r = try Running(["receive", "--listen", "127.0.0.1:0", "--headless"] + extra)
        XCTAssertTrue(r.read(until: "waiting for a migration on 127.0.0.1:"), r.text + r.err)
        let port = r.text.firstMatch(of: /waiting for a migration on 127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) } ?? 0
        XCTAssertGreaterThan(port, 0)
        return (r, port)
    }

    func testAMigratedGuestEndsOnTheSamePictureAsANeverMigratedRun() throws {
        try requireKVMDevice()
        for (guest, args, tracking) in [("desktop", "", "ring"), ("pagewriter", "pages=200 fb=1", "bitmap")] {
            let reference = try tempDir(), migrated = try tempDir()
            let common = ["--guest", guest, "--args", args, "--width", "320", "--height", "200", "--memory", "32M", "--tracking", tracking]
            let ref = try runRingside(["run", "--headless", "--frames", "90", "--png", reference] + common)
            XCTAssertEqual(ref.status, 0, ref.err)
            let (dest, port) = try receive(["--frames", "90", "--png", migrated, "--tracking", tracking])
            let src = try runRingside(["run", "--headless", "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.4", "--verify-migration"] + common,
                                      timeout: 60)
            XCTAssertEqual(src.status, 0, "\(guest): \(src.err)")
            XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port)"), src.out)
            XCTAssertTrue(dest.exits(within: 30), "\(guest): the destination runs to frame 90 and stops")
            XCTAssertEqual(dest.status, 0, dest.err)
            let out = dest.rest()
            XCTAssertNotNil(out.firstMatch(of: /\d+ pages verified/), out)
            let a = try Data(contentsOf: URL(fileURLWithPath: reference + "/frame-000090.png"))
            let b = try Data(contentsOf: URL(fileURLWithPath: migrated + "/frame-000090.png"))
            XCTAssertEqual(a, b, "\(guest): frame 90 after migration is the frame 90 of a run never migrated")
        }
    }

    func testARefusingDestinationLeavesTheGuestRunningAtTheSource() throws {
        try requireKVMDevice()
        let (dest, port) = try receive(["--memory-limit", "16M"])
        let src = try runRingside(["run", "--guest", "desktop", "--headless", "--width", "320", "--height", "200", "--memory", "64M",
                                   "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.3", "--seconds", "2"], timeout: 60)
        XCTAssertEqual(src.status, 0, src.err)
        XCTAssertTrue(src.err.contains("failed, the guest keeps running here"), src.err)
        XCTAssertTrue(src.err.contains("--memory-limit"), "the source says why: \(src.err)")
        XCTAssertNotNil(src.out.firstMatch(of: /guest frames\/s: (5\d|6\d)\./), "the guest ran on at its 60 Hz: \(src.out)")
        XCTAssertTrue(dest.exits(within: 10))
        XCTAssertEqual(dest.status, 1)
        XCTAssertEqual(dest.err.split(separator: "\n").count, 1, dest.err)
        XCTAssertTrue(dest.err.contains("64 MiB") && dest.err.contains("--memory-limit"), dest.err)
    }

    func testGarbageOnTheMigrationPortIsRefusedInOneLine() throws {
        try requireKVMDevice()
        let (dest, port) = try receive([])
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(connected, 0)
        let junk = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = junk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        XCTAssertTrue(dest.exits(within: 10))
        close(fd)
        XCTAssertEqual(dest.status, 1)
        XCTAssertEqual(dest.err.split(separator: "\n").count, 1, dest.err)
        XCTAssertTrue(dest.err.contains("malformed"), dest.err)
        XCTAssertFalse(dest.err.contains("Fatal error"))
    }
}

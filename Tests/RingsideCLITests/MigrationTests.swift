import Foundation
import TestSupport
import XCTest

/// Live migration between real `ringside` processes over real sockets: the destination's
/// picture of frame N must be byte for byte the picture of a guest that never moved.
final class MigrationTests: XCTestCase {
    static let width = 320, height = 200, memory = "32M"

    struct Case: CustomStringConvertible {
        var guest: String
        var args = ""
        var cpus = 1
        var tracking: String
        var description: String { "\(guest)\(args.isEmpty ? "" : " '\(args)'") on \(cpus) vCPU(s), tracking \(tracking)" }
        var referenceKey: String { "\(guest)|\(args)|\(cpus)" }
    }

    /// Source `run` -> destination `receive` on loopback, paced at 60 Hz, migrating when the
    /// guest completes frame 30; the destination writes every frame it draws and is stopped
    /// once it has drawn one. Nil when everything held, else what did not.
    func migrate(_ c: Case, dir: String) -> String? {
        do {
            let dstDir = dir + "/dst"
            let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--tracking", c.tracking,
                                                      "--png", dstDir, "--png-every", "1"])
            guard let port = dst.listeningPort() else { return "\(c): the destination never listened\n\(dst.transcript)" }
            let src = try RingsideProcess("run", ["run", "--guest", c.guest, "--args", c.args, "--cpus", "\(c.cpus)", "--tracking", c.tracking,
                                                  "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)", "--memory", Self.memory,
                                                  "--migrate-to", "127.0.0.1:\(port)", "--migrate-at-frame", "30", "--verify-migration"])
            let srcStatus = src.exitStatus()
            let files = dst.stopAfterDrawing(filesIn: dstDir)
            let dstStatus = dst.exitStatus()
            var problems: [String] = []
            if srcStatus != 0 { problems.append("source status \(srcStatus.map(String.init) ?? "none (timed out)")") }
            if dstStatus != 0 { problems.append("destination status \(dstStatus.map(String.init) ?? "none (timed out)")") }
            if !src.out.contains("migrated to 127.0.0.1:\(port): ") { problems.append("the source did not say 'migrated to'") }
            if !dst.out.contains(" pages verified") { problems.append("the destination did not say 'pages verified'") }
            if !src.err.isEmpty || dst.err != RingsideProcess.sigtermLine { problems.append("stderr is not as expected") }
            if files.isEmpty { problems.append("the destination drew no frame") }
            if let frames = files.compactMap(MigrationCheck.frame(ofFile:)).min(), frames <= 30 {
                problems.append("the destination wrote frame \(frames), which the source drew")
            }
            if !files.isEmpty, let bad = MigrationCheck.compareWithUnmigrated(files, in: dstDir, guest: c.guest, args: c.args, cpus: c.cpus,
                                                                               width: Self.width, height: Self.height, memory: Self.memory,
                                                                               refDir: dir + "/ref") {
                problems.append(bad)
            }
            return problems.isEmpty ? nil : "\(c): " + problems.joined(separator: "; ") + "\n" + src.transcript + dst.transcript
        } catch {
            return "\(c): \(error)"
        }
    }

    /// Every built-in workload that matters, under both dirty-tracking modes, on 1 and 2 vCPUs.
    func testEachGuestMigratesAndShowsTheUnmigratedPicture() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "matrix")
        var cases: [Case] = []
        for tracking in ["ring", "bitmap"] {
            cases += [Case(guest: "desktop", tracking: tracking), Case(guest: "desktop", cpus: 2, tracking: tracking),
                      Case(guest: "bounce", args: "sprites=16", tracking: tracking), Case(guest: "plasma", tracking: tracking),
                      Case(guest: "pagewriter", args: "pages=200 fb=1", tracking: tracking),
                      Case(guest: "pagewriter", args: "pages=200 fb=1", cpus: 2, tracking: tracking)]
        }
        let problems = inParallel(width: 3, cases.enumerated().map { i, c in { self.migrate(c, dir: dir + "/case\(i)") } })
        for p in problems.compactMap({ $0 }) { XCTFail(p) }
    }

    /// A -> B -> C: A migrates at its frame 30, B (a `receive`) migrates the guest on as soon
    /// as it runs there, and every frame C draws equals that frame of a guest that never
    /// moved. No step waits for a time: how many frames pass during each pre-copy is the
    /// host's business, so C is stopped once it has drawn a frame of its own.
    func testAGuestMigratesTwice() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "twice")
        let c = try RingsideProcess("C", ["receive", "--listen", "127.0.0.1:0", "--headless", "--png", dir + "/c", "--png-every", "1"])
        let cPort = try XCTUnwrap(c.listeningPort(), c.transcript)
        let b = try RingsideProcess("B", ["receive", "--listen", "127.0.0.1:0", "--headless", "--migrate-to", "127.0.0.1:\(cPort)",
                                          "--migrate-after", "0", "--verify-migration"])
        let bPort = try XCTUnwrap(b.listeningPort(), b.transcript)
        let a = try RingsideProcess("A", ["run", "--guest", "bounce", "--args", "sprites=16", "--headless", "--width", "\(Self.width)",
                                          "--height", "\(Self.height)", "--memory", Self.memory, "--migrate-to", "127.0.0.1:\(bPort)",
                                          "--migrate-at-frame", "30", "--verify-migration"])
        XCTAssertEqual(a.exitStatus(), 0, a.transcript + b.transcript + c.transcript)
        XCTAssertEqual(b.exitStatus(), 0, a.transcript + b.transcript + c.transcript)
        let files = c.stopAfterDrawing(filesIn: dir + "/c")
        let transcript = a.transcript + b.transcript + c.transcript
        XCTAssertEqual(c.exitStatus(), 0, transcript)
        XCTAssertTrue(a.out.contains("migrated to 127.0.0.1:\(bPort): "), a.transcript)
        XCTAssertTrue(b.out.contains(" pages verified"), b.transcript)
        XCTAssertTrue(b.out.contains("migrated to 127.0.0.1:\(cPort): "), b.transcript)
        XCTAssertTrue(c.out.contains(" pages verified"), c.transcript)
        XCTAssertEqual(a.err + b.err, "", transcript)
        XCTAssertEqual(c.err, RingsideProcess.sigtermLine, transcript)
        XCTAssertFalse(files.isEmpty, "C drew a frame of its own\n\(transcript)")
        XCTAssertGreaterThan(files.compactMap(MigrationCheck.frame(ofFile:)).min() ?? 0, 30, "C's frames come after A's: \(files)")
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: dir + "/c", guest: "bounce", args: "sprites=16", width: Self.width,
                                                          height: Self.height, memory: Self.memory, refDir: dir + "/ref"), transcript)
    }

    /// A destination with --png-every holds each vCPU at its doorbell while it writes the
    /// frame (lockstep), from the first frame after the hand-over; it writes only frames that
    /// are multiples of N, and each file is the unmigrated guest's picture of that frame.
    func testADestinationWritingEveryNthFrameWritesTheUnmigratedPictures() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "every")
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--png", dir + "/dst", "--png-every", "5"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", "pagewriter", "--args", "pages=50", "--cpus", "2", "--headless",
                                              "--width", "\(Self.width)", "--height", "\(Self.height)", "--memory", Self.memory,
                                              "--migrate-to", "127.0.0.1:\(port)", "--migrate-at-frame", "20", "--verify-migration"])
        XCTAssertEqual(src.exitStatus(), 0, src.transcript + dst.transcript)
        let files = dst.stopAfterDrawing(2, filesIn: dir + "/dst")
        XCTAssertEqual(dst.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port): "), src.transcript)
        let frames = files.compactMap(MigrationCheck.frame(ofFile:))
        XCTAssertGreaterThanOrEqual(frames.count, 2, "the frames after the hand-over: \(files)\n\(dst.transcript)")
        XCTAssertTrue(frames.allSatisfy { $0 % 5 == 0 && $0 > 20 }, "every 5th frame, after the source's frame 20: \(files)")
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: dir + "/dst", guest: "pagewriter", args: "pages=50", cpus: 2,
                                                          width: Self.width, height: Self.height, memory: Self.memory, refDir: dir + "/ref"))
    }

    /// Over IPv6 loopback; addresses are printed as [V6]:PORT, the form --migrate-to takes.
    func testMigrationOverIPv6() throws {
        try MigrationCheck.requireKVMDevice()
        let probe = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var any = sockaddr_in6()
        any.sin6_family = sa_family_t(AF_INET6)
        any.sin6_addr = in6addr_loopback
        let bound = probe >= 0 && withUnsafePointer(to: &any) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } } == 0
        if probe >= 0 { close(probe) }
        guard bound else { throw XCTSkip("this host has no IPv6 loopback (::1)") }
        let dir = try MigrationCheck.tempDir(self, "v6")
        let dst = try RingsideProcess("receive", ["receive", "--listen", "[::1]:0", "--headless", "--png", dir + "/dst", "--png-every", "1"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        XCTAssertTrue(dst.out.hasPrefix("ringside: waiting for a migration on [::1]:\(port)\n"), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                              "--memory", Self.memory, "--migrate-to", "[::1]:\(port)", "--migrate-at-frame", "30", "--verify-migration"])
        XCTAssertEqual(src.exitStatus(), 0, src.transcript + dst.transcript)
        let files = dst.stopAfterDrawing(filesIn: dir + "/dst")
        XCTAssertEqual(dst.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrating to [::1]:\(port)\n"), src.transcript)
        XCTAssertTrue(src.out.contains("migrated to [::1]:\(port): "), src.transcript)
        XCTAssertTrue(dst.out.contains("migration from [::1]:"), dst.transcript)
        XCTAssertFalse(files.isEmpty, "the destination drew a frame\n\(dst.transcript)")
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: dir + "/dst", guest: "desktop", width: Self.width, height: Self.height,
                                                          memory: Self.memory, refDir: dir + "/ref"))
    }

    /// Between two network namespaces joined by a veth pair: a real (virtual) link, not
    /// loopback. The namespaces are this test's own and are deleted even when it fails.
    func testMigrationAcrossNetworkNamespaces() throws {
        try MigrationCheck.requireKVMDevice()
        let net = try MigrationNet.make(self)
        let dir = try MigrationCheck.tempDir(self, "netns")
        let dst = try RingsideProcess("receive in \(net.destination)", ["receive", "--listen", "\(MigrationNet.destinationAddress):0", "--headless",
                                                                         "--png", dir + "/dst", "--png-every", "1"], namespace: net.destination)
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        XCTAssertTrue(dst.out.contains("waiting for a migration on \(MigrationNet.destinationAddress):\(port)"), dst.transcript)
        let src = try RingsideProcess("run in \(net.source)", ["run", "--guest", "desktop", "--headless", "--width", "\(Self.width)",
                                                               "--height", "\(Self.height)", "--memory", Self.memory,
                                                               "--migrate-to", "\(MigrationNet.destinationAddress):\(port)",
                                                               "--migrate-at-frame", "30", "--verify-migration"], namespace: net.source)
        XCTAssertEqual(src.exitStatus(), 0, src.transcript + dst.transcript)
        let files = dst.stopAfterDrawing(filesIn: dir + "/dst")
        XCTAssertEqual(dst.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to \(MigrationNet.destinationAddress):\(port): "), src.transcript)
        XCTAssertTrue(dst.out.contains("migration from \(MigrationNet.sourceAddress):"), "the stream came over the veth link: \(dst.transcript)")
        XCTAssertTrue(dst.out.contains(" pages verified"), dst.transcript)
        XCTAssertFalse(files.isEmpty, "the destination drew a frame\n\(dst.transcript)")
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: dir + "/dst", guest: "desktop", width: Self.width, height: Self.height,
                                                          memory: Self.memory, refDir: dir + "/ref"))
    }
}

/// Two network namespaces joined by a veth pair, made for one test and torn down after it.
struct MigrationNet {
    static let sourceAddress = "10.77.0.1", destinationAddress = "10.77.0.2"
    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"
    let source: String
    let destination: String

    struct SetupFailure: Error, CustomStringConvertible { let description: String }

    @discardableResult
    static func ipCommand(_ args: [String]) -> (status: Int32, err: String) {
        guard let r = try? runProgram(URL(fileURLWithPath: ip), args, timeout: 60) else { return (-1, "cannot run \(ip)") }
        return (r.status, r.err)
    }

    /// Skips unless this is root with a working `ip netns`; fails on any later setup error.
    static func make(_ test: XCTestCase) throws -> MigrationNet {
        guard geteuid() == 0 else { throw unmetRequirement("needs root to create network namespaces") }
        guard FileManager.default.isExecutableFile(atPath: ip) else { throw unmetRequirement("needs the ip command (apt-get install iproute2)") }
        let tag = "\(getpid() % 100_000)"
        let net = MigrationNet(source: "rs-mig-src-\(tag)", destination: "rs-mig-dst-\(tag)")
        // Deleting a namespace deletes the veth end in it, and with it the pair.
        test.addTeardownBlock {
            ipCommand(["netns", "delete", net.source])
            ipCommand(["netns", "delete", net.destination])
        }
        let probe = ipCommand(["netns", "add", net.source])
        guard probe.status == 0 else { throw XCTSkip("ip netns is not available here: \(probe.err.trimmingCharacters(in: .whitespacesAndNewlines))") }
        let vs = "rsm\(tag)s", vd = "rsm\(tag)d"
        for step in [["netns", "add", net.destination],
                     ["link", "add", vs, "netns", net.source, "type", "veth", "peer", "name", vd, "netns", net.destination],
                     ["-n", net.source, "addr", "add", "\(sourceAddress)/24", "dev", vs],
                     ["-n", net.destination, "addr", "add", "\(destinationAddress)/24", "dev", vd],
                     ["-n", net.source, "link", "set", vs, "up"], ["-n", net.destination, "link", "set", vd, "up"],
                     ["-n", net.source, "link", "set", "lo", "up"], ["-n", net.destination, "link", "set", "lo", "up"]] {
            let r = ipCommand(step)
            guard r.status == 0 else { throw SetupFailure(description: "ip \(step.joined(separator: " ")) failed with status \(r.status): \(r.err)") }
        }
        return net
    }
}

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

    /// Source `run` -> destination `receive` on loopback, paced at 60 Hz; nil when everything
    /// held, else what did not.
    func migrate(_ c: Case, frames: Int, dir: String, reference: Data?) -> String? {
        do {
            let dstDir = dir + "/dst"
            let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--tracking", c.tracking,
                                                      "--frames", "\(frames)", "--png", dstDir])
            guard let port = dst.listeningPort() else { return "\(c): the destination never listened\n\(dst.transcript)" }
            let src = try RingsideProcess("run", ["run", "--guest", c.guest, "--args", c.args, "--cpus", "\(c.cpus)", "--tracking", c.tracking,
                                                  "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)", "--memory", Self.memory,
                                                  "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5", "--verify-migration"])
            let srcStatus = src.exitStatus(timeout: 60), dstStatus = dst.exitStatus(timeout: 60)
            var problems: [String] = []
            if srcStatus != 0 { problems.append("source status \(srcStatus.map(String.init) ?? "none (timed out)")") }
            if dstStatus != 0 { problems.append("destination status \(dstStatus.map(String.init) ?? "none (timed out)")") }
            if !src.out.contains("migrated to 127.0.0.1:\(port): ") { problems.append("the source did not say 'migrated to'") }
            if !dst.out.contains(" pages verified") { problems.append("the destination did not say 'pages verified'") }
            if !src.err.isEmpty || !dst.err.isEmpty { problems.append("stderr is not empty") }
            let png = FileManager.default.contents(atPath: dstDir + "/" + MigrationCheck.pngName(frames))
            if png == nil { problems.append("no \(MigrationCheck.pngName(frames)) at the destination") }
            if let png, png != reference { problems.append("the destination's frame \(frames) differs from the unmigrated run's") }
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
        let frames = 120
        var keys: [String] = []
        var firsts: [Case] = []
        for c in cases where !keys.contains(c.referenceKey) { keys.append(c.referenceKey); firsts.append(c) }
        let references = inParallel(width: 3, firsts.enumerated().map { i, c in {
            try? MigrationCheck.reference(guest: c.guest, args: c.args, cpus: c.cpus, width: Self.width, height: Self.height,
                                          memory: Self.memory, frames: frames, dir: dir + "/ref\(i)")
        } })
        for (c, r) in zip(firsts, references) { XCTAssertNotNil(r, "the unmigrated \(c.guest) on \(c.cpus) vCPU(s) wrote frame \(frames)") }
        let problems = inParallel(width: 3, cases.enumerated().map { i, c in {
            self.migrate(c, frames: frames, dir: dir + "/case\(i)", reference: references[keys.firstIndex(of: c.referenceKey)!])
        } })
        for p in problems.compactMap({ $0 }) { XCTFail(p) }
    }

    /// A -> B -> C: B is a `receive` that migrates the guest on; C shows frame 240 as if the
    /// guest had never moved. (Frame 240 is 4 s at 60 Hz: A and B each run 0.5 s and their
    /// starts and pre-copy rounds take the rest; with frame 150 a slow CI start of B once had
    /// the guest reach C at frame 169, past the frame C was to write.)
    func testAGuestMigratesTwice() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "twice")
        let frames = 240
        let c = try RingsideProcess("C", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "\(frames)", "--png", dir + "/c"])
        let cPort = try XCTUnwrap(c.listeningPort(), c.transcript)
        let b = try RingsideProcess("B", ["receive", "--listen", "127.0.0.1:0", "--headless", "--migrate-to", "127.0.0.1:\(cPort)",
                                          "--migrate-after", "0.5", "--verify-migration"])
        let bPort = try XCTUnwrap(b.listeningPort(), b.transcript)
        let a = try RingsideProcess("A", ["run", "--guest", "bounce", "--args", "sprites=16", "--headless", "--width", "\(Self.width)",
                                          "--height", "\(Self.height)", "--memory", Self.memory, "--migrate-to", "127.0.0.1:\(bPort)",
                                          "--migrate-after", "0.5", "--verify-migration"])
        let reference = try MigrationCheck.reference(guest: "bounce", args: "sprites=16", width: Self.width, height: Self.height,
                                                     memory: Self.memory, frames: frames, dir: dir + "/ref")
        let transcript = a.transcript + b.transcript + c.transcript
        XCTAssertEqual(a.exitStatus(), 0, transcript)
        XCTAssertEqual(b.exitStatus(), 0, transcript)
        XCTAssertEqual(c.exitStatus(), 0, transcript)
        XCTAssertTrue(a.out.contains("migrated to 127.0.0.1:\(bPort): "), a.transcript)
        XCTAssertTrue(b.out.contains(" pages verified"), b.transcript)
        XCTAssertTrue(b.out.contains("migrated to 127.0.0.1:\(cPort): "), b.transcript)
        XCTAssertTrue(c.out.contains(" pages verified"), c.transcript)
        XCTAssertEqual(a.err + b.err + c.err, "", transcript)
        XCTAssertEqual(MigrationCheck.pngFiles(dir + "/c"), [MigrationCheck.pngName(frames)], c.transcript)
        let png = FileManager.default.contents(atPath: dir + "/c/" + MigrationCheck.pngName(frames))
        XCTAssertNotNil(reference)
        XCTAssertTrue(png != nil && png == reference, "C's frame \(frames) equals the unmigrated run's")
    }

    /// A destination with --png-every holds each vCPU at its doorbell while it writes the
    /// frame (lockstep), from the first frame after the hand-over; each file it writes is the
    /// unmigrated guest's picture of that frame.
    func testADestinationWritingEveryNthFrameWritesTheUnmigratedPictures() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "every")
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "120", "--png", dir + "/dst",
                                                  "--png-every", "30"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", "pagewriter", "--args", "pages=50", "--cpus", "2", "--headless",
                                              "--width", "\(Self.width)", "--height", "\(Self.height)", "--memory", Self.memory,
                                              "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5", "--verify-migration"])
        let ref = try runRingside(["run", "--guest", "pagewriter", "--args", "pages=50", "--cpus", "2", "--headless", "--width", "\(Self.width)",
                                   "--height", "\(Self.height)", "--memory", Self.memory, "--guest-hz", "0", "--frames", "120",
                                   "--png", dir + "/ref", "--png-every", "30"])
        XCTAssertEqual(ref.status, 0, ref.err)
        XCTAssertEqual(src.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertEqual(dst.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port): "), src.transcript)
        let files = MigrationCheck.pngFiles(dir + "/dst")
        XCTAssertEqual(MigrationCheck.pngFiles(dir + "/ref"), ["frame-000030.png", "frame-000060.png", "frame-000090.png", "frame-000120.png"])
        XCTAssertTrue(files.count >= 2 && files.last == "frame-000120.png", "the frames after the hand-over: \(files)\n\(dst.transcript)")
        for f in files {
            let a = FileManager.default.contents(atPath: dir + "/dst/" + f), b = FileManager.default.contents(atPath: dir + "/ref/" + f)
            XCTAssertTrue(a != nil && a == b, "\(f) equals the unmigrated run's")
        }
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
        let dst = try RingsideProcess("receive", ["receive", "--listen", "[::1]:0", "--headless", "--frames", "120", "--png", dir + "/dst"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        XCTAssertTrue(dst.out.hasPrefix("ringside: waiting for a migration on [::1]:\(port)\n"), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                              "--memory", Self.memory, "--migrate-to", "[::1]:\(port)", "--migrate-after", "0.5", "--verify-migration"])
        let reference = try MigrationCheck.reference(guest: "desktop", width: Self.width, height: Self.height, memory: Self.memory,
                                                     frames: 120, dir: dir + "/ref")
        XCTAssertEqual(src.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertEqual(dst.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrating to [::1]:\(port)\n"), src.transcript)
        XCTAssertTrue(src.out.contains("migrated to [::1]:\(port): "), src.transcript)
        XCTAssertTrue(dst.out.contains("migration from [::1]:"), dst.transcript)
        let png = FileManager.default.contents(atPath: dir + "/dst/" + MigrationCheck.pngName(120))
        XCTAssertTrue(reference != nil && png == reference, "the destination's frame 120 equals the unmigrated run's")
    }

    /// Between two network namespaces joined by a veth pair: a real (virtual) link, not
    /// loopback. The namespaces are this test's own and are deleted even when it fails.
    func testMigrationAcrossNetworkNamespaces() throws {
        try MigrationCheck.requireKVMDevice()
        let net = try MigrationNet.make(self)
        let dir = try MigrationCheck.tempDir(self, "netns")
        let frames = 120
        let dst = try RingsideProcess("receive in \(net.destination)", ["receive", "--listen", "\(MigrationNet.destinationAddress):0", "--headless",
                                                                         "--frames", "\(frames)", "--png", dir + "/dst"], namespace: net.destination)
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        XCTAssertTrue(dst.out.contains("waiting for a migration on \(MigrationNet.destinationAddress):\(port)"), dst.transcript)
        let src = try RingsideProcess("run in \(net.source)", ["run", "--guest", "desktop", "--headless", "--width", "\(Self.width)",
                                                               "--height", "\(Self.height)", "--memory", Self.memory,
                                                               "--migrate-to", "\(MigrationNet.destinationAddress):\(port)",
                                                               "--migrate-after", "0.5", "--verify-migration"], namespace: net.source)
        let reference = try MigrationCheck.reference(guest: "desktop", width: Self.width, height: Self.height, memory: Self.memory,
                                                     frames: frames, dir: dir + "/ref")
        XCTAssertEqual(src.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertEqual(dst.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to \(MigrationNet.destinationAddress):\(port): "), src.transcript)
        XCTAssertTrue(dst.out.contains("migration from \(MigrationNet.sourceAddress):"), "the stream came over the veth link: \(dst.transcript)")
        XCTAssertTrue(dst.out.contains(" pages verified"), dst.transcript)
        let png = FileManager.default.contents(atPath: dir + "/dst/" + MigrationCheck.pngName(frames))
        XCTAssertNotNil(reference)
        XCTAssertTrue(png != nil && png == reference, "the destination's frame \(frames) equals the unmigrated run's")
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
        guard let r = try? runProgram(URL(fileURLWithPath: ip), args, timeout: 20) else { return (-1, "cannot run \(ip)") }
        return (r.status, r.err)
    }

    /// Skips unless this is root with a working `ip netns`; fails on any later setup error.
    static func make(_ test: XCTestCase) throws -> MigrationNet {
        guard geteuid() == 0 else { throw XCTSkip("needs root to create network namespaces") }
        guard FileManager.default.isExecutableFile(atPath: ip) else { throw XCTSkip("needs the ip command (apt-get install iproute2)") }
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

import Foundation
import MigrationWire
import TestSupport
import XCTest

/// The migration stream over mutual TLS (`--migrate-tls-cert/-key/-ca`) between real
/// processes: the picture of a guest never migrated, nothing readable on the link, a recording
/// that replays into nothing; and every mismatch (a wrong CA on either side, no client
/// certificate, TLS on one side only) refused in one line on each side, the source's guest
/// running on. Certificates from `TestCertificates.make()`.
final class MigrationTLSTests: XCTestCase {
    static let width = 320, height = 200

    static func tls(_ c: TestCertificates, server: Bool, ca: TestCertificates? = nil) -> [String] {
        ["--migrate-tls-cert", (server ? c.serverCertificate : c.clientCertificate).path,
         "--migrate-tls-key", (server ? c.serverKey : c.clientKey).path, "--migrate-tls-ca", (ca ?? c).caCertificate.path]
    }

    func certificates(_ name: String) throws -> TestCertificates {
        let c = try TestCertificates.make(name)
        addTeardownBlock { c.remove() }
        return c
    }

    func receive(_ extra: [String], pngDir: String? = nil, label: String = "receive") throws -> RingsideProcess {
        try RingsideProcess(label, ["receive", "--listen", "127.0.0.1:0", "--headless"]
            + (pngDir.map { ["--png", $0, "--png-every", "1"] } ?? []) + extra)
    }

    /// desktop at 32 MiB, migrating at its frame 30, every frame it draws in `pngDir`.
    func source(port: Int, pngDir: String, _ extra: [String]) throws -> RingsideProcess {
        try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                    "--memory", "32M", "--png", pngDir, "--png-every", "1",
                                    "--migrate-to", "127.0.0.1:\(port)", "--migrate-at-frame", "30"] + extra)
    }

    func testAMigrationOverMutualTLSShowsTheUnmigratedPictureAndItsRecordingReplaysIntoNothing() throws {
        try MigrationCheck.requireKVMDevice()
        let certs = try certificates("mig-tls")
        let dir = try MigrationCheck.tempDir(self, "tls")
        let dst = try receive(Self.tls(certs, server: true), pngDir: dir + "/dst")
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let proxy = try RecordingProxy(upstream: port)
        let src = try source(port: proxy.port, pngDir: dir + "/src", Self.tls(certs, server: false) + ["--verify-migration"])
        XCTAssertEqual(src.exitStatus(), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(proxy.port): "), src.transcript)
        XCTAssertEqual(src.err, "", src.transcript)
        let files = dst.stopAfterDrawing(filesIn: dir + "/dst")
        XCTAssertEqual(dst.exitStatus(), 0, dst.transcript)
        XCTAssertTrue(dst.out.contains(" pages verified"), dst.transcript)
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: dir + "/dst", guest: "desktop", width: Self.width, height: Self.height,
                                                          memory: "32M", refDir: dir + "/ref"))
        XCTAssertTrue(proxy.wait(), "the connection never ended")

        // On the link: TLS records (a handshake first), and not a byte of the protocol in clear.
        let captured = proxy.fromClient
        XCTAssertEqual(Array(captured.prefix(2)), [22, 3], "the source's first bytes are a TLS handshake record")
        XCTAssertGreaterThan(captured.count, 100_000, "the guest's pages went over this connection")
        for (name, bytes) in [("source", captured), ("destination", proxy.fromServer)] {
            XCTAssertNil(Self.find(MigrationWire.magic, in: bytes), "the \(name)'s hello is not in clear on the link")
        }

        // The recording, replayed into a second TLS destination, starts nothing.
        let second = try receive(Self.tls(certs, server: true), pngDir: dir + "/second", label: "second")
        let secondPort = try XCTUnwrap(second.listeningPort(), second.transcript)
        _ = try RecordingProxy.replay(captured, to: secondPort)
        XCTAssertEqual(second.exitStatus(), 1, second.transcript)
        if let p = MigrationCheck.oneLineProblem(second.err, containing: ["migration failed, nothing was kept: TLS: the TLS records from the source at 127.0.0.1:"]) {
            XCTFail(p)
        }
        XCTAssertTrue(second.err.contains("do not decrypt under this connection's keys: a recorded or altered stream, refused"), second.err)
        XCTAssertEqual(MigrationCheck.pngFiles(dir + "/second"), [], "nothing ran at the second destination")
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        return (0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// One mismatch: the destination's and the source's options and the words each side's one line must hold.
    struct Mismatch {
        let name: String
        let destination: [String]
        let source: [String]
        let destinationSays: String
        let sourceSays: String
    }

    func testEveryMismatchIsRefusedInOneLineOnEachSideAndTheSourceKeepsItsGuest() throws {
        try MigrationCheck.requireKVMDevice()
        let a = try certificates("mig-tls-a"), b = try certificates("mig-tls-b")
        let dir = try MigrationCheck.tempDir(self, "tls-mismatch")
        let server = Self.tls(a, server: true)
        let cases = [
            Mismatch(name: "wrong-ca-at-source", destination: server, source: Self.tls(b, server: false),
                     destinationSays: "refused this side's certificate", sourceSays: "presented a certificate this side does not accept"),
            Mismatch(name: "client-cert-of-another-ca", destination: server, source: Self.tls(b, server: false, ca: a),
                     destinationSays: "presented a certificate this side does not accept", sourceSays: "refused this side's certificate"),
            Mismatch(name: "no-client-cert", destination: server, source: ["--migrate-tls-ca", a.caCertificate.path],
                     destinationSays: "the source presented no certificate", sourceSays: "the source presented no certificate"),
            Mismatch(name: "plain-source", destination: server, source: [],
                     destinationSays: "does not use TLS, and this destination requires it", sourceSays: "this destination requires TLS"),
            Mismatch(name: "plain-destination", destination: [], source: Self.tls(a, server: false),
                     destinationSays: "speaks TLS and this side does not", sourceSays: "does not speak TLS"),
        ]
        for m in cases {
            let dst = try receive(m.destination, pngDir: dir + "/\(m.name)-dst")
            let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
            let src = try source(port: port, pngDir: dir + "/\(m.name)-src", m.source)
            XCTAssertEqual(dst.exitStatus(), 1, "\(m.name): \(dst.transcript)")
            if let p = MigrationCheck.oneLineProblem(dst.err, containing: ["migration failed, nothing was kept: "]) { XCTFail("\(m.name): \(p)") }
            XCTAssertTrue(dst.err.contains(m.destinationSays), "\(m.name): the destination says \(dst.err.debugDescription)")
            XCTAssertEqual(MigrationCheck.pngFiles(dir + "/\(m.name)-dst"), [], "\(m.name): nothing ran at the destination")
            assertSourceKeptRunning(src, port: port, pngDir: dir + "/\(m.name)-src", naming: m.sourceSays, label: m.name)
        }
    }

    /// The source failed once, in one line naming `naming`, then drew frames (each the picture
    /// of an unmigrated run) until it was stopped.
    func assertSourceKeptRunning(_ src: RingsideProcess, port: Int, pngDir: String, naming: String, label: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        let prefix = "ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: "
        XCTAssertTrue(poll(timeout: 120) { src.err.contains("\n") || !src.isRunning }, src.transcript, file: file, line: line)
        let failure = src.err.split(separator: "\n").first.map { String($0) + "\n" } ?? ""
        let drawnBefore = MigrationCheck.pngFiles(pngDir).compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0
        let files = src.stopAfterDrawing(filesIn: pngDir, after: drawnBefore + 1)
        XCTAssertEqual(src.exitStatus(), 0, "\(label): \(src.transcript)", file: file, line: line)
        XCTAssertTrue(failure.hasPrefix(prefix) && failure.contains(naming), "\(label): the source says \(src.err.debugDescription)", file: file, line: line)
        XCTAssertEqual(src.err, failure + RingsideProcess.sigtermLine, "\(label): one line, then the stop", file: file, line: line)
        XCTAssertGreaterThan(files.compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0, drawnBefore + 1, "\(label): the guest ran on",
                             file: file, line: line)
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: pngDir, guest: "desktop", width: Self.width, height: Self.height,
                                                          memory: "32M", refDir: pngDir + "-ref"), label, file: file, line: line)
    }
}

import Foundation
import TestSupport
import XCTest

/// The TLS options' own mistakes (a file missing, a key of another certificate, an option
/// without its partner): one line each, before anything is sent, and a source's guest runs
/// on; and `ringside ctl PATH migrate ... --migrate-tls-*` migrates over TLS.
final class MigrationTLSOptionTests: XCTestCase {
    func certificates(_ name: String) throws -> TestCertificates {
        let c = try TestCertificates.make(name)
        addTeardownBlock { c.remove() }
        return c
    }

    func testAnOptionWithoutItsPartnerIsAUsageError() throws {
        let c = try certificates("mig-tls-usage")
        let cases: [([String], String)] = [
            (["run", "--guest", "desktop", "--headless", "--migrate-tls-ca", c.caCertificate.path], "need --migrate-to HOST:PORT"),
            (["run", "--guest", "desktop", "--headless", "--migrate-to", "127.0.0.1:9", "--migrate-tls-cert", c.clientCertificate.path,
              "--migrate-tls-ca", c.caCertificate.path], "--migrate-tls-cert needs --migrate-tls-key"),
            (["run", "--guest", "desktop", "--headless", "--migrate-to", "127.0.0.1:9", "--migrate-tls-cert", c.clientCertificate.path,
              "--migrate-tls-key", c.clientKey.path], "need --migrate-tls-ca"),
            (["receive", "--listen", "127.0.0.1:0", "--headless", "--migrate-tls-ca", c.caCertificate.path],
             "needs --migrate-tls-cert and --migrate-tls-key too"),
        ]
        for (args, naming) in cases { try expectRefusedInOneLine(args, naming: naming, timeout: 60) }
    }

    func testADestinationWithAWrongFileSaysWhichBeforeListening() throws {
        let c = try certificates("mig-tls-files")
        let cases: [([String], String)] = [
            (["--migrate-tls-cert", c.serverCertificate.path, "--migrate-tls-key", c.directory.path + "/missing.key", "--migrate-tls-ca", c.caCertificate.path],
             "TLS: cannot read --migrate-tls-key \(c.directory.path)/missing.key: No such file or directory"),
            (["--migrate-tls-cert", c.serverKey.path, "--migrate-tls-key", c.serverKey.path, "--migrate-tls-ca", c.caCertificate.path],
             "TLS: --migrate-tls-cert \(c.serverKey.path) holds no PEM certificate"),
            (["--migrate-tls-cert", c.serverCertificate.path, "--migrate-tls-key", c.clientKey.path, "--migrate-tls-ca", c.caCertificate.path],
             "does not belong to the certificate"),
        ]
        for (tls, naming) in cases {
            let r = try expectRefusedInOneLine(["receive", "--listen", "127.0.0.1:0", "--headless"] + tls, naming: naming, timeout: 60)
            XCTAssertFalse(r.out.contains("waiting for a migration"), "it did not listen: \(r.out)")
        }
    }

    /// A source whose key file is missing says so when the migration starts, and runs on.
    func testASourceWithAMissingKeyKeepsItsGuestAndSaysWhy() throws {
        try MigrationCheck.requireKVMDevice()
        let c = try certificates("mig-tls-src-file")
        let (fd, port) = try TCP.refusingPort()
        defer { close(fd) }
        let missing = c.directory.path + "/gone.key"
        try expectSourceRunsOn(port: port, tls: ["--migrate-tls-cert", c.clientCertificate.path, "--migrate-tls-key", missing,
                                                 "--migrate-tls-ca", c.caCertificate.path],
                               because: "TLS: cannot read --migrate-tls-key \(missing): No such file or directory")
    }

    /// A source migrating to `port` with `tls` fails with one line ending in `reason`, and its
    /// guest runs on until it is told to stop.
    func expectSourceRunsOn(port: Int, tls: [String], because reason: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--migrate-to", "127.0.0.1:\(port)",
                                              "--migrate-at-frame", "10"] + tls)
        XCTAssertTrue(poll(timeout: 120) { src.err.contains("\n") || !src.isRunning }, src.transcript, file: file, line: line)
        XCTAssertEqual(src.err, "ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: \(reason)\n",
                       src.transcript, file: file, line: line)
        XCTAssertTrue(src.isRunning, "the guest runs on", file: file, line: line)
        src.signal(SIGTERM)
        XCTAssertEqual(src.exitStatus(), 0, src.transcript, file: file, line: line)
    }

    /// Nothing listening: the TLS channel closes before it was ever active (a pipeline torn
    /// down with its handshake pending must not trap), and the source says so once and runs on.
    func testATLSSourceWithNothingListeningKeepsItsGuest() throws {
        try MigrationCheck.requireKVMDevice()
        let c = try certificates("mig-tls-refused")
        let (fd, port) = try TCP.refusingPort()
        defer { close(fd) }
        try expectSourceRunsOn(port: port, tls: ["--migrate-tls-cert", c.clientCertificate.path, "--migrate-tls-key", c.clientKey.path,
                                                 "--migrate-tls-ca", c.caCertificate.path],
                               because: "cannot connect to 127.0.0.1:\(port): Connection refused")
    }

    func testCtlMigrateTakesTheTLSOptions() throws {
        try MigrationCheck.requireKVMDevice()
        let c = try certificates("mig-tls-ctl")
        let dir = try Ctl.tempDir(self)
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "60",
                                                  "--migrate-tls-cert", c.serverCertificate.path, "--migrate-tls-key", c.serverKey.path,
                                                  "--migrate-tls-ca", c.caCertificate.path])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let run = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--control", dir + "/src"])
        try Ctl.waitForGuest(dir + "/src", run)
        let start = try Ctl.json(dir + "/src", ["migrate", "127.0.0.1:\(port)", "--migrate-tls-cert", c.clientCertificate.path,
                                                "--migrate-tls-key", c.clientKey.path, "--migrate-tls-ca", c.caCertificate.path])
        XCTAssertTrue(start.ok, "\(start.json) \(start.err)")
        XCTAssertEqual(run.exitStatus(timeout: 120), 0, run.transcript)
        XCTAssertTrue(run.out.contains("migrated to 127.0.0.1:\(port)"), run.transcript)
        XCTAssertEqual(dst.exitStatus(timeout: 120), 0, dst.transcript)
        XCTAssertEqual(dst.err, "", dst.transcript)
    }
}

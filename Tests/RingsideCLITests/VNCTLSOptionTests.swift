import Foundation
import TestSupport
import XCTest

/// `--vnc-tls-cert` and `--vnc-tls-key`: bad files are one line before the guest boots, and
/// the rule for addresses beyond this machine (TLS and a password; the old password-only
/// form still starts, with a warning).
final class VNCTLSOptionTests: XCTestCase {
    func testBadCertificateOrKeyIsOneLineBeforeBoot() throws {
        let certs = try TestCertificates.make("vnc-tls-options")
        defer { certs.remove() }
        let dir = try MigrationCheck.tempDir(self, "vnc-tls-options")
        try "not a certificate\n".write(toFile: dir + "/junk.pem", atomically: true, encoding: .utf8)
        let cert = certs.serverCertificate.path, key = certs.serverKey.path
        for (args, needle) in [(["--vnc-tls-cert", cert], "--vnc-tls-cert needs --vnc-tls-key FILE"),
                               (["--vnc-tls-key", key], "--vnc-tls-key needs --vnc-tls-cert FILE"),
                               (["--vnc-tls-cert", dir + "/missing.pem", "--vnc-tls-key", key], "missing.pem: cannot read it"),
                               (["--vnc-tls-cert", dir + "/junk.pem", "--vnc-tls-key", key], "junk.pem: holds no PEM certificate"),
                               (["--vnc-tls-cert", cert, "--vnc-tls-key", dir + "/junk.pem"], "junk.pem: holds no PEM private key"),
                               (["--vnc-tls-cert", cert, "--vnc-tls-key", certs.clientKey.path], "client.key is not the private key of the certificate in")] {
            try expectRefusedInOneLine(["run", "--headless", "--frames", "1", "--vnc", "127.0.0.1:0"] + args, naming: needle)
        }
    }

    func testTLSWithoutAPasswordBeyondLoopbackIsRefused() throws {
        let certs = try TestCertificates.make("vnc-tls-nopw")
        defer { certs.remove() }
        try expectRefusedInOneLine(["run", "--headless", "--frames", "1", "--vnc", "0.0.0.0:0",
                                    "--vnc-tls-cert", certs.serverCertificate.path, "--vnc-tls-key", certs.serverKey.path],
                                   naming: "without a password: give --vnc-password-file FILE, or --vnc-insecure to allow it (TLS alone lets anyone in)")
    }

    /// Starts ringside with `args`, waits for its VNC line, and ends it; its stderr.
    func startAndStop(_ label: String, _ args: [String]) throws -> String {
        try requireKVMDevice()
        let p = try RingsideProcess(label, ["run", "--headless", "--guest", "pattern", "--guest-hz", "0", "--width", "64", "--height", "64",
                                            "--seconds", "300"] + args)
        XCTAssertTrue(p.waitForOutput("VNC server on 0.0.0.0:", timeout: 120), p.transcript)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        return p.err
    }

    /// The form documented before TLS (`--vnc 0.0.0.0:PORT --vnc-password-file F`) still
    /// starts, with one warning; with TLS it starts without one.
    func testPasswordBeyondLoopbackStillStartsWithAWarningAndWithTLSWithout() throws {
        let certs = try TestCertificates.make("vnc-tls-exposure")
        defer { certs.remove() }
        let dir = try MigrationCheck.tempDir(self, "vnc-tls-exposure")
        try "sekrit\n".write(toFile: dir + "/pw", atomically: true, encoding: .utf8)
        let old = try startAndStop("vnc-old-form", ["--vnc", "0.0.0.0:0", "--vnc-password-file", dir + "/pw"])
        XCTAssertTrue(old.contains("warning: --vnc 0.0.0.0:0 listens beyond this machine without TLS"), old)
        let tls = try startAndStop("vnc-tls-form", ["--vnc", "0.0.0.0:0", "--vnc-password-file", dir + "/pw",
                                                    "--vnc-tls-cert", certs.serverCertificate.path, "--vnc-tls-key", certs.serverKey.path])
        XCTAssertFalse(tls.contains("warning"), tls)
    }
}

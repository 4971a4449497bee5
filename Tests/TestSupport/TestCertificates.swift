import Foundation
import XCTest

/// A throw-away certificate authority with a server and a client certificate, made by the
/// `openssl` command for the TLS tests (VNC's VeNCrypt and wss://, migration's mutual TLS).
/// Every file is PEM, in a fresh temporary directory that `remove()` deletes. The server
/// certificate names `localhost` and `127.0.0.1`; both leaf certificates are signed by `ca`.
public struct TestCertificates {
    public let directory: URL
    public let caCertificate: URL
    public let serverCertificate: URL
    public let serverKey: URL
    public let clientCertificate: URL
    public let clientKey: URL

    /// Makes a new authority and both leaves. `name` tags the directory (the test's name).
    /// Skips (fails in CI) without `openssl`; a failed `openssl` run fails with its stderr.
    public static func make(_ name: String = "tls", file: StaticString = #filePath, line: UInt = #line) throws -> TestCertificates {
        let openssl = URL(fileURLWithPath: try requireTool("openssl", install: "apt-get install openssl", file: file, line: line))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ringside-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func path(_ leaf: String) -> String { dir.appendingPathComponent(leaf).path }
        func run(_ args: [String]) throws {
            let r = try runProgram(openssl, args, timeout: 60, file: file, line: line)
            guard r.status == 0 else {
                throw MissingInCI(description: "openssl \(args.prefix(2).joined(separator: " ")) failed: \(r.err)")
            }
        }
        let days = ["-days", "2"]
        try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.pem"),
                 "-subj", "/CN=Ringside test CA"] + days)
        for (leaf, cn, ext) in [("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                                ("client", "ringside-test-client", "extendedKeyUsage=clientAuth\n")] {
            try ext.write(toFile: path("\(leaf).ext"), atomically: true, encoding: .utf8)
            try run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("\(leaf).key"), "-out", path("\(leaf).csr"),
                     "-subj", "/CN=\(cn)"])
            try run(["x509", "-req", "-in", path("\(leaf).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                     "-CAcreateserial", "-out", path("\(leaf).pem"), "-extfile", path("\(leaf).ext")] + days)
        }
        return TestCertificates(directory: dir, caCertificate: URL(fileURLWithPath: path("ca.pem")),
                                serverCertificate: URL(fileURLWithPath: path("server.pem")),
                                serverKey: URL(fileURLWithPath: path("server.key")),
                                clientCertificate: URL(fileURLWithPath: path("client.pem")),
                                clientKey: URL(fileURLWithPath: path("client.key")))
    }

    /// Deletes the directory and every key in it.
    public func remove() { try? FileManager.default.removeItem(at: directory) }
}

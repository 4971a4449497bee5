import Foundation
import TestSupport
import XCTest

/// VeNCrypt through real TLS with a client of the tests' own (Python's ssl module, which
/// verifies the server's certificate against the test CA): X509Plain with the right and a
/// wrong password, and a subtype the server did not offer.
final class VNCTLSProtocolTests: XCTestCase {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/vnc_vencrypt.py").path

    func client(_ port: Int, _ ca: String, subtype: Int, password: String) throws -> (status: Int32, json: [String: Any], err: String) {
        let r = try runProgram(URL(fileURLWithPath: "/usr/bin/env"),
                               ["python3", Self.script, "127.0.0.1", "\(port)", ca, "\(subtype)", password, "someone"], timeout: 120)
        let line = r.out.split(separator: "\n").last.map(String.init) ?? "{}"
        let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        return (r.status, json, r.err)
    }

    func testX509PlainThroughTLSAndItsRefusals() throws {
        try requireKVMDevice()
        _ = try requireTool("python3", install: "apt-get install python3")
        let certs = try TestCertificates.make("vnc-x509plain")
        defer { certs.remove() }
        let dir = try MigrationCheck.tempDir(self, "vnc-x509plain")
        try "a-long-secret\r\n".write(toFile: dir + "/pw", atomically: true, encoding: .utf8)
        let p = try RingsideProcess("vnc-plain", ["run", "--headless", "--vnc", "127.0.0.1:0", "--vnc-password-file", dir + "/pw",
                                                  "--vnc-tls-cert", certs.serverCertificate.path, "--vnc-tls-key", certs.serverKey.path,
                                                  "--guest", "pattern", "--guest-hz", "0", "--width", "200", "--height", "120", "--seconds", "300"])
        let prefix = "VNC server on 127.0.0.1:"
        XCTAssertTrue(p.waitForOutput(prefix, timeout: 120), p.transcript)
        let line = p.out.split(separator: "\n").first { $0.hasPrefix(prefix) } ?? ""
        let port = try XCTUnwrap(Int(line.dropFirst(prefix.count).prefix { $0.isNumber }), p.transcript)
        let ca = certs.caCertificate.path

        let ok = try client(port, ca, subtype: 262, password: "a-long-secret")
        XCTAssertEqual(ok.status, 0, "\(ok.json) \(ok.err)\n\(p.transcript)")
        XCTAssertEqual(ok.json["types"] as? [Int], [19])
        XCTAssertEqual(ok.json["server_version"] as? [Int], [0, 2])
        XCTAssertEqual(ok.json["offered"] as? [Int], [261, 262])
        XCTAssertEqual(ok.json["width"] as? Int, 200)
        XCTAssertEqual(ok.json["pixels"] as? Int, 200 * 120, "a whole Raw update came through TLS")
        XCTAssertTrue((ok.json["tls"] as? String)?.hasPrefix("TLSv1.") ?? false, "\(ok.json)")
        XCTAssertTrue(p.waitForOutput("chose VeNCrypt X509Plain: TLS starts", timeout: 60), p.transcript)

        // Only the first 8 bytes would pass VNC Authentication; X509Plain checks the whole line.
        let wrong = try client(port, ca, subtype: 262, password: "a-long-s")
        XCTAssertEqual(wrong.json["result"] as? Int, 1, "\(wrong.json) \(wrong.err)")
        XCTAssertEqual(wrong.json["reason"] as? String, "wrong password")

        let none = try client(port, ca, subtype: 260, password: "")
        XCTAssertEqual(none.json["reason"] as? String, "VeNCrypt: subtype 260 was not offered (offered: 261 X509Vnc, 262 X509Plain)", "\(none.json) \(none.err)")
        XCTAssertTrue(p.waitForOutput("dropped: VeNCrypt: subtype 260 was not offered", timeout: 60), p.transcript)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }
}

@testable import Control
import XCTest

/// `migrate`'s TLS options on the control socket (docs/control.md): absolute paths, a CA
/// always, a certificate and its key together.
final class MigrateTLSRequestTests: XCTestCase {
    private func parse(_ line: String) throws -> ControlRequest { try ControlRequest.parse(line: Array(line.utf8)) }

    private func refusal(_ line: String) -> String? {
        do { _ = try parse(line); return nil } catch let e as ControlRequestError { return e.description } catch { return "\(error)" }
    }

    func testTheTLSOptionsParseAndRoundTrip() throws {
        var m = MigrateRequest(host: "10.0.0.2", port: 7777)
        m.tlsCertificate = "/etc/rs/src.pem"
        m.tlsKey = "/etc/rs/src.key"
        m.tlsCA = "/etc/rs/ca.pem"
        let line = "migrate 10.0.0.2:7777 --migrate-tls-cert /etc/rs/src.pem --migrate-tls-key /etc/rs/src.key --migrate-tls-ca /etc/rs/ca.pem"
        XCTAssertEqual(try parse(line), .migrate(m))
        XCTAssertEqual(try parse((["migrate"] + m.words).joined(separator: " ")), .migrate(m), "words say the same request")
        var caOnly = MigrateRequest(host: "10.0.0.2", port: 7777)
        caOnly.tlsCA = "/etc/rs/ca.pem"
        XCTAssertEqual(try parse("migrate 10.0.0.2:7777 --migrate-tls-ca /etc/rs/ca.pem"), .migrate(caOnly))
    }

    func testEachTLSMistakeHasItsLine() {
        let cases: [(String, String)] = [
            ("migrate 10.0.0.2:7777 --migrate-tls-cert /a.pem --migrate-tls-key /a.key", "--migrate-tls-cert needs --migrate-tls-ca"),
            ("migrate 10.0.0.2:7777 --migrate-tls-cert /a.pem --migrate-tls-ca /ca.pem", "--migrate-tls-cert needs --migrate-tls-key"),
            ("migrate 10.0.0.2:7777 --migrate-tls-key /a.key --migrate-tls-ca /ca.pem", "--migrate-tls-key needs --migrate-tls-cert"),
            ("migrate 10.0.0.2:7777 --migrate-tls-ca ca.pem", "--migrate-tls-ca 'ca.pem': give an absolute path"),
            ("migrate 10.0.0.2:7777 --migrate-tls-ca", "--migrate-tls-ca needs a value"),
            ("migrate 10.0.0.2:7777 --migrate-tls-ca /a --migrate-tls-ca /b", "--migrate-tls-ca is given twice"),
        ]
        for (line, expected) in cases {
            let got = refusal(line)
            XCTAssertTrue(got?.hasPrefix(expected) == true, "\(line): \(got ?? "accepted")")
        }
    }
}

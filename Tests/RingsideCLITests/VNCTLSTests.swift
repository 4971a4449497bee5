import Foundation
import RFB
import TestSupport
import XCTest

/// TLS for VNC (`--vnc-tls-cert`, `--vnc-tls-key`) against real clients: TigerVNC's viewer
/// over VeNCrypt X509Vnc, noVNC in Chromium over `wss://`, and the options' rules.
final class VNCTLSTests: XCTestCase {
    /// A password file (`sekrit`) for ringside and the same password in vncpasswd's format
    /// (DES with VNC's fixed key) for TigerVNC's `-passwd`, in `dir`.
    func passwordFiles(_ dir: String) throws -> (plain: String, vncpasswd: String) {
        try "sekrit\n".write(toFile: dir + "/pw", atomically: true, encoding: .utf8)
        // vncpasswd's obfuscation: the password's 8 bytes DES-encrypted with VNC's fixed key,
        // which is VNC Authentication's answer to them as a "challenge" with that key as the password.
        let pw8 = Array("sekrit".utf8) + [0, 0]
        let fixed: [UInt8] = [23, 82, 107, 6, 35, 78, 88, 7]
        let obfuscated = try XCTUnwrap(VNCAuthentication.response(challenge: pw8 + pw8, password: fixed)).prefix(8)
        try Data(obfuscated).write(to: URL(fileURLWithPath: dir + "/pw.vnc"))
        return (dir + "/pw", dir + "/pw.vnc")
    }

    /// `pattern` at 333x211 to frame 25 (dumped as PNG into `png`), served over TLS with the
    /// password in `password`, on the listener `listen` names.
    func patternOverTLS(_ label: String, listen: [String], certs: TestCertificates, password: String, png: String) throws -> RingsideProcess {
        try RingsideProcess(label, ["run", "--headless"] + listen + ["--vnc-password-file", password,
                                    "--vnc-tls-cert", certs.serverCertificate.path, "--vnc-tls-key", certs.serverKey.path,
                                    "--guest", "pattern", "--guest-hz", "0", "--frames", "25", "--width", "333", "--height", "211",
                                    "--png", png, "--seconds", "300"])
    }

    /// The port on the line that starts with `prefix` (up to the port).
    func port(_ p: RingsideProcess, after prefix: String) -> Int? {
        guard p.waitForOutput(prefix, timeout: 120) else { return nil }
        let line = p.out.split(separator: "\n").first { $0.hasPrefix(prefix) } ?? ""
        return Int(line.dropFirst(prefix.count).prefix { $0.isNumber })
    }

    func testTigerVNCOverVeNCryptX509VncShowsTheFrameExactly() throws {
        try requireKVMDevice()
        let viewer = try requireTool("xtigervncviewer", install: "apt-get install tigervnc-viewer")
        let certs = try TestCertificates.make("vnc-x509vnc")
        defer { certs.remove() }
        let screen = try XvfbScreen.acquire()
        let dir = try MigrationCheck.tempDir(self, "vnc-x509vnc")
        let pw = try passwordFiles(dir)
        let p = try patternOverTLS("vnc-tls", listen: ["--vnc", "127.0.0.1:0"], certs: certs, password: pw.plain, png: dir)
        guard let port = port(p, after: "VNC server on 127.0.0.1:") else { return XCTFail("no VNC server line\n\(p.transcript)") }
        XCTAssertTrue(p.out.contains("(VeNCrypt: X509Vnc, X509Plain)"), p.transcript)
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 120), p.transcript)
        let v = try screen.launch(viewer, ["-SecurityTypes", "X509Vnc", "-X509CA", certs.caCertificate.path, "-passwd", pw.vncpasswd,
                                           "127.0.0.1::\(port)"])
        defer { end(v) }
        XCTAssertTrue(p.waitForOutput("chose VeNCrypt X509Vnc: TLS starts", timeout: 120), p.transcript)
        XCTAssertTrue(p.waitForOutput("connected (RFB 3.8, authenticated)", timeout: 120), p.transcript)
        let dump = try DecodedPNG(path: dir + "/frame-000025.png")
        let found = try screen.waitForPicture(width: 333, height: 211, within: (100, 100)) { dump.pixel(x: $0, y: $1) }
        XCTAssertEqual(found?.wrong, 0, "the viewer shows frame 25 exactly through TLS (nil: not found on screen)\n\(p.transcript)")
        end(v)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

    func testNoVNCOverWSSShowsTheFrameExactly() throws {
        try requireKVMDevice()
        try DecodedPNG.requireDecoder()
        let chromium = try HeadlessNoVNC.requireChromiumAndNoVNC()
        let certs = try TestCertificates.make("vnc-wss")
        defer { certs.remove() }
        let dir = try MigrationCheck.tempDir(self, "vnc-wss")
        let pw = try passwordFiles(dir)
        let p = try patternOverTLS("vnc-wss", listen: ["--vnc-websocket", "127.0.0.1:0"], certs: certs, password: pw.plain, png: dir)
        guard let port = port(p, after: "VNC over WebSocket on 127.0.0.1:") else { return XCTFail("no WebSocket line\n\(p.transcript)") }
        XCTAssertTrue(p.out.contains("(TLS: wss://): open https://127.0.0.1:\(port)/vnc.html"), p.transcript)
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 120), p.transcript)
        let dump = try DecodedPNG(path: dir + "/frame-000025.png")
        let shotPath = dir + "/chromium.png"
        var best = -1
        let seen = try HeadlessNoVNC.lookUntilFound(chromium, ["--ignore-certificate-errors", "--window-size=1300,900", "--screenshot=\(shotPath)",
                                                               "https://127.0.0.1:\(port)/vnc.html?autoconnect=true&resize=off&password=sekrit"]) { _ in
            best = try Self.wrongPixels(DecodedPNG(path: shotPath), dump)
            return best == 0 ? best : nil
        }
        XCTAssertEqual(best, 0, "noVNC over wss:// shows frame 25 exactly (-1: not found in the screenshot; \(seen.tries) tries)\n\(p.transcript)\n\(seen.last.err.suffix(2000))")
        XCTAssertTrue(p.out.contains("connected (RFB 3.8, authenticated)"), p.transcript)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

    /// Pixels of `dump` wrong where its corners are found in `shot`; -1 when not found.
    static func wrongPixels(_ shot: DecodedPNG, _ dump: DecodedPNG) -> Int {
        let (w, h) = (dump.width, dump.height)
        var best = -1
        for oy in 0..<max(0, shot.height - h) {
            for ox in 0..<max(0, shot.width - w) where shot.pixel(x: ox, y: oy) == dump.pixel(x: 0, y: 0)
                && shot.pixel(x: ox + w - 1, y: oy + h - 1) == dump.pixel(x: w - 1, y: h - 1) && shot.pixel(x: ox + 100, y: oy + 50) == dump.pixel(x: 100, y: 50) {
                var wrong = 0
                for y in 0..<h { for x in 0..<w where shot.pixel(x: ox + x, y: oy + y) != dump.pixel(x: x, y: y) { wrong += 1 } }
                if wrong == 0 { return 0 }
                best = best < 0 ? wrong : min(best, wrong)
            }
        }
        return best
    }
}

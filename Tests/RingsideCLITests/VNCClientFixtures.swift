import Foundation
import TestSupport
import XCTest

/// `ringside run --vnc` did not print its server line (or no port in it).
struct VNCServerDidNotStart: Error, CustomStringConvertible { let description: String }

/// Starts `ringside run --headless --vnc 127.0.0.1:0` with `args`; returns it and the port it printed.
func startVNCRingside(_ args: [String], label: String = "vnc") throws -> (RingsideProcess, Int) {
    let p = try RingsideProcess(label, ["run", "--headless", "--vnc", "127.0.0.1:0"] + args)
    guard let port = p.printedPort(after: "VNC server on 127.0.0.1:") else {
        throw VNCServerDidNotStart(description: "no VNC server line with a port\n\(p.transcript)")
    }
    return (p, port)
}

extension RingsideProcess {
    /// The port at the end of the first line that starts with `prefix` (such as "VNC over
    /// WebSocket on 127.0.0.1:"); nil if no such line comes within `timeout` seconds.
    func printedPort(after prefix: String, timeout: Double = 120) -> Int? {
        guard waitForOutput(prefix, timeout: timeout) else { return nil }
        for line in out.split(separator: "\n") where line.hasPrefix(prefix) {
            if let port = Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) { return port }
        }
        return nil
    }
}

/// What the tests of `ringside run --vnc` with real clients share: starting the server, a
/// vncdotool capture, comparing pictures, reading a whole picture over raw RFB.
protocol VNCClientFixtures: XCTestCase {}

extension VNCClientFixtures {
    typealias ServerDidNotStart = VNCServerDidNotStart

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/vnc_capture.py").path
    }

    func requireKVM() throws { try requireKVMDevice() }

    func requireVncdotool() throws { try requirePythonModule("vncdotool", install: "pip install vncdotool") }

    /// Starts ringside with `--vnc 127.0.0.1:0` and returns it with the port it printed.
    func startServer(_ args: [String]) throws -> (RingsideProcess, Int) { try startVNCRingside(args) }

    func capture(port: Int, encoding: String, bpp: Int, password: String? = nil, to path: String) throws -> (status: Int32, out: String, err: String) {
        try runProgram(URL(fileURLWithPath: "/usr/bin/env"),
                       ["python3", Self.script, "127.0.0.1", "\(port)", path, encoding, "\(bpp)"] + (password.map { [$0] } ?? []), timeout: 60)
    }

    /// The 5-6-5 pixel a 16 bpp client shows for `p`: each channel scaled to its bits as the
    /// server does (rounded), then widened back as PIL does (v * 255 / max, truncated).
    static func as565(_ p: UInt32) -> UInt32 {
        func q(_ v: UInt32, _ bits: UInt32) -> UInt32 {
            let max = (UInt32(1) << bits) - 1
            return ((v * max + 127) / 255) * 255 / max
        }
        return q((p >> 16) & 0xFF, 5) << 16 | q((p >> 8) & 0xFF, 6) << 8 | q(p & 0xFF, 5)
    }

    func mismatches(_ a: DecodedPNG, _ b: DecodedPNG, expect: (UInt32) -> UInt32 = { $0 }) -> Int {
        guard a.width == b.width, a.height == b.height else { return -1 }
        var n = 0
        for y in 0..<a.height { for x in 0..<a.width where expect(a.pixel(x: x, y: y)) != b.pixel(x: x, y: y) { n += 1 } }
        return n
    }

    /// Asks `c` for a whole picture and reads updates until one covers its whole geometry (an
    /// incremental update still in flight may come first; a DesktopSize changes the size).
    static func wholePicture(_ c: RawRFBClient, size: (Int, Int)) throws -> (w: Int, h: Int, pixels: [UInt32]) {
        var (w, h) = size
        c.requestUpdate(incremental: false, width: w, height: h)
        for _ in 0..<100 {
            let rects = try c.readUpdate()
            var resized = false
            if let ds = rects.first(where: { $0.encoding == -223 }) { (w, h) = (ds.w, ds.h); resized = true }
            var screen = [UInt32](repeating: 0xFF00_0000, count: w * h)
            var covered = 0
            for r in rects where r.encoding == 0 {
                for y in 0..<r.h { for x in 0..<r.w where r.x + x < w && r.y + y < h {
                    screen[(r.y + y) * w + r.x + x] = r.pixels[y * r.w + x]
                    covered += 1
                } }
            }
            if covered >= w * h && !screen.contains(0xFF00_0000) { return (w, h, screen) }
            if resized { c.requestUpdate(incremental: false, width: w, height: h) }
        }
        throw RawRFBClient.Closed()
    }


    /// Resident memory of `pid` in KiB.
    static func rss(_ pid: Int32) -> Int {
        let status = procText("/proc/\(pid)/status")
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}

import Foundation
import TestSupport
import XCTest

/// ZRLE's large palettes against real clients' own decoders.
extension VNCClientTests {
    /// plasma's smooth colours put 17 to 127 colours in many 64x64 tiles, which ZRLE sends as
    /// palette RLE (a byte per run); vncdotool and gvnccapture, decoders of their own, show
    /// its final frame exactly as `--png` dumped it.
    func testRealClientsDecodePlasmasManyColourZRLETilesExactly() throws {
        try requireKVM()
        try DecodedPNG.requireDecoder()
        try requireVncdotool()
        let gvnccapture = try requireTool("gvnccapture", install: "apt-get install gvncviewer")
        let dir = try MigrationCheck.tempDir(self, "vnc-zrle-palette")
        let (p, port) = try startServer(["--guest", "plasma", "--guest-hz", "0", "--frames", "4", "--width", "320", "--height", "200",
                                         "--png", dir, "--seconds", "300"])
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 60), p.transcript)
        let dump = try DecodedPNG(path: dir + "/frame-000004.png")
        var paletteTiles = 0
        for ty in stride(from: 0, to: dump.height, by: 64) {
            for tx in stride(from: 0, to: dump.width, by: 64) {
                var colours = Set<UInt32>()
                for y in ty..<min(ty + 64, dump.height) { for x in tx..<min(tx + 64, dump.width) { colours.insert(dump.pixel(x: x, y: y)) } }
                if (17...127).contains(colours.count) { paletteTiles += 1 }
            }
        }
        XCTAssertGreaterThan(paletteTiles, 0, "no tile of 17-127 colours in plasma's frame: nothing here would be sent as a large palette")
        let path = dir + "/vncdotool-zrle.png"
        let r = try capture(port: port, encoding: "zrle", bpp: 32, to: path)
        XCTAssertEqual(r.status, 0, "vncdotool zrle: \(r.err)")
        XCTAssertEqual(mismatches(dump, try DecodedPNG(path: path)), 0, "vncdotool (ZRLE) differs from the dump")
        let g = try runProgram(URL(fileURLWithPath: gvnccapture), ["127.0.0.1:\(port - 5900)", dir + "/gvnccapture.png"])
        XCTAssertEqual(g.status, 0, "gvnccapture: \(g.err)")
        XCTAssertEqual(mismatches(dump, try DecodedPNG(path: dir + "/gvnccapture.png")), 0, "gvnccapture (ZRLE) differs from the dump")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }
}

import Foundation
import TestSupport
import XCTest

/// `--png`: the guest's cursor plane is composited into the file written, never into guest
/// memory (decoded by an independent decoder).
final class PNGCursorTests: XCTestCase {
    func testTheDumpShowsPaintsCrosshairAtThePointer() throws {
        try requireKVMDevice()
        try DecodedPNG.requireDecoder()
        let dir = NSTemporaryDirectory() + "png-cursor-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let script = dir + "/input.txt"
        try "2 pointer 100 80\n".write(toFile: script, atomically: true, encoding: .utf8)
        let r = try runRingside(["run", "--guest", "paint", "--headless", "--frames", "5", "--width", "320", "--height", "200",
                                 "--input-script", script, "--png", dir + "/out"])
        XCTAssertEqual(r.status, 0, r.err)
        let png = try DecodedPNG(path: dir + "/out/frame-000005.png")
        XCTAssertEqual(png.pixel(x: 100, y: 80), 0x000000, "the crosshair's black centre at the pointer")
        XCTAssertEqual(png.pixel(x: 100, y: 76), 0x000000, "its vertical bar")
        XCTAssertEqual(png.pixel(x: 99, y: 76), 0xFFFFFF, "its white outline")
        XCTAssertEqual(png.pixel(x: 110, y: 80), 0xFFFFFF, "the canvas beyond it")
        // Without the pointer there is no cursor: the same frame is the white canvas there.
        let plain = try runRingside(["run", "--guest", "paint", "--headless", "--frames", "5", "--width", "320", "--height", "200",
                                     "--png", dir + "/plain"])
        XCTAssertEqual(plain.status, 0, plain.err)
        XCTAssertEqual(try DecodedPNG(path: dir + "/plain/frame-000005.png").pixel(x: 100, y: 80), 0xFFFFFF)
    }
}

import Foundation
import TestSupport
import XCTest

/// The C guest SDK (assets/guests/sdk): the README's example and the library's own check,
/// built with ringside-cc from a fresh SDK directory and run on real KVM.
final class CGuestSDKTests: XCTestCase {
    static let sdk = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("assets/guests/sdk")

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "ringside-csdk-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    /// Builds `source` (relative to the SDK) into `dir`/NAME.elf with ringside-cc and a fresh SDK
    /// build in `dir`/sdk; skips when the machine has no C compiler or binutils.
    func build(_ source: String, in dir: String, extra: [String] = []) throws -> String {
        let out = dir + "/" + URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent + ".elf"
        let r = try runProgram(URL(fileURLWithPath: "/bin/bash"),
                               [Self.sdk.appendingPathComponent("ringside-cc").path, "--sdk-out", dir + "/sdk", "-o", out,
                                Self.sdk.appendingPathComponent(source).path] + extra, timeout: 300)
        if r.err.contains("missing a tool") { throw XCTSkip("needs a C compiler and GNU binutils: \(r.err)") }
        XCTAssertEqual(r.status, 0, "ringside-cc failed: \(r.err)")
        return out
    }

    func testTheReadmeExampleBuildsAndDrawsItsDocumentedPicture() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        try DecodedPNG.requireDecoder()
        let dir = try tempDir()
        let image = try build("examples/hello.c", in: dir)
        let (w, h, size, frames) = (320, 200, 40, 7)
        let r = try runRingside(["run", "--guest", image, "--headless", "--guest-hz", "0", "--frames", "\(frames)",
                                 "--width", "\(w)", "--height", "\(h)", "--png", dir + "/png", "--args", "size=\(size)"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("guest: hello: 320x200, a 40 px square, from C"), r.out)
        let png = try DecodedPNG(path: dir + "/png/frame-00000\(frames).png")
        XCTAssertEqual(png.width, w)
        XCTAssertEqual(png.height, h)
        // The picture hello.c's comment documents, at frame n.
        let sx = (8 * frames) % (w - size), sy = (h - size) / 2
        var wrong = 0
        for y in 0..<h {
            for x in 0..<w {
                let inSquare = x >= sx && x < sx + size && y >= sy && y < sy + size
                let want: UInt32 = inSquare ? 0xFFFFFF : UInt32(y * 255 / h) << 16 | UInt32(x * 255 / w) << 8 | 0xFF
                if png.pixel(x: x, y: y) != want { wrong += 1 }
            }
        }
        XCTAssertEqual(wrong, 0, "pixels that differ from hello.c's documented picture at frame \(frames)")
    }

    func testTheLibraryPassesItsChecksInsideAGuest() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        let dir = try tempDir()
        let image = try build("tests/libc-check.c", in: dir, extra: ["-Wall", "-Wextra", "-Werror"])
        let text = dir + "/text"
        try "first line\nsecond line\n".write(toFile: text, atomically: true, encoding: .utf8)
        let r = try runRingside(["run", "--guest", image, "--headless", "--guest-hz", "0", "--frames", "10",
                                 "--module", text + "=check.txt", "--args", "key=value other=1"])
        let failed = r.out.split(separator: "\n").filter { $0.contains("FAILED") }
        XCTAssertEqual(failed, [], "checks that failed inside the guest")
        XCTAssertNotNil(r.out.range(of: #"guest: libc-check: [0-9]{3,} checks, 0 failed"#, options: .regularExpression), r.out)
        XCTAssertTrue(r.out.contains("guest exited with status 0"), r.out)
        XCTAssertEqual(r.status, 1, "status 0 from the guest is ringside's (0 << 1) | 1")
    }

    func testTheReadmeListsTheExampleAsItIs() throws {
        let readme = try String(contentsOf: Self.sdk.deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let file = try String(contentsOf: Self.sdk.appendingPathComponent("examples/hello.c"), encoding: .utf8)
        let marker = try XCTUnwrap(readme.range(of: "<!-- hello.c:"), "the README marks the example's listing")
        let start = try XCTUnwrap(readme.range(of: "```c\n", range: marker.upperBound..<readme.endIndex))
        let end = try XCTUnwrap(readme.range(of: "```\n", range: start.upperBound..<readme.endIndex))
        XCTAssertEqual(String(readme[start.upperBound..<end.lowerBound]), file, "assets/guests/README.md shows examples/hello.c as it is")
    }

    func testAnImageDeclaresABIVersion4InItsNote() throws {
        let dir = try tempDir()
        let image = try build("examples/hello.c", in: dir)
        let r = try runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["readelf", "-lnW", image])
        guard r.status == 0 else { throw XCTSkip("needs readelf (binutils): \(r.err)") }
        XCTAssertNotNil(r.out.range(of: #"NOTE\s+0x[0-9a-f]+\s+0x0*200000"#, options: .regularExpression), "a PT_NOTE segment: \(r.out)")
        XCTAssertNotNil(r.out.range(of: #"Ringside\s+0x00000004\s+.*description data: 04 00 00 00"#, options: .regularExpression), r.out)
        for line in r.out.split(separator: "\n") where line.contains("LOAD") {
            let f = line.split(separator: " ")
            XCTAssertEqual(f[2], f[3], "p_vaddr == p_paddr: \(line)")
        }
    }
}

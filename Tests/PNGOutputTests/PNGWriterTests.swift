import Foundation
import TestSupport
import Testing
import Display
import PNGOutput

/// A fresh, empty directory under /tmp, removed by `remove()`.
struct ScratchDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "ringside-png-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func contents() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path).sorted()) ?? [] }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("PNGWriter")
struct PNGWriterTests {
    /// A pattern in which every channel of every pixel differs from its neighbours'.
    static func pattern(_ x: Int, _ y: Int) -> UInt32 {
        UInt32((x * 7 + y) & 0xFF) << 16 | UInt32((y * 13 + x * 3) & 0xFF) << 8 | UInt32((x ^ y) & 0xFF)
    }

    /// A 37x23 framebuffer with 20 bytes of padding per row; X and padding bytes are junk.
    static func framebuffer() -> (FramebufferGeometry, [UInt8]) {
        let geometry = FramebufferGeometry(width: 37, height: 23, pitch: 37 * 4 + 20)
        var bytes = [UInt8](repeating: 0xA5, count: geometry.byteCount)
        for y in 0..<geometry.height {
            for x in 0..<geometry.width {
                let value = pattern(x, y) | 0x7700_0000
                for k in 0..<4 { bytes[y * geometry.pitch + x * 4 + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
            }
        }
        return (geometry, bytes)
    }

    @Test("a PNG of an odd-width, padded framebuffer decodes pixel for pixel with an independent decoder",
          .enabled(if: IndependentDecoder.available != nil || runningInCI, Comment(rawValue: IndependentDecoder.skipReason)),
          arguments: [false, true])
    func roundTrip(durable: Bool) throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        let (geometry, bytes) = Self.framebuffer()
        let path = dir.path + "/pattern.png"
        var options = PNGWriter.Options.fast
        options.durable = durable
        try bytes.withUnsafeBytes { try PNGWriter.write(pixels: $0.baseAddress!, geometry: geometry, to: path, options: options) }

        #expect(dir.contents() == ["pattern.png"])  // no temporary file left behind
        let rgb = try #require(IndependentDecoder.decodeRGB(path), "the decoder rejected the file")
        try #require(rgb.count == geometry.width * geometry.height * 3)
        var mismatches = 0
        for y in 0..<geometry.height {
            for x in 0..<geometry.width {
                let i = (y * geometry.width + x) * 3
                let got = UInt32(rgb[i]) << 16 | UInt32(rgb[i + 1]) << 8 | UInt32(rgb[i + 2])
                if got != Self.pattern(x, y) {
                    mismatches += 1
                    if mismatches <= 5 { Issue.record("pixel (\(x), \(y)): \(got) != \(Self.pattern(x, y))") }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test("the shadow framebuffer writes the same picture as its source",
          .enabled(if: IndependentDecoder.available != nil || runningInCI, Comment(rawValue: IndependentDecoder.skipReason)))
    func shadowRoundTrip() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        let (geometry, bytes) = Self.framebuffer()
        let shadow = ShadowFramebuffer(geometry: geometry)
        bytes.withUnsafeBytes { shadow.copyAll(from: $0.baseAddress!) }
        try PNGWriter.write(shadow, to: dir.path + "/shadow.png")
        let rgb = try #require(IndependentDecoder.decodeRGB(dir.path + "/shadow.png"))
        #expect(rgb[0..<3] == [0, 0, 0] && rgb[3 * 36 + 0] == UInt8((36 * 7) & 0xFF))
    }

    @Test("a write that hits a full disk throws ENOSPC and leaves neither the .png nor its temporary file")
    func fullDiskLeavesNothing() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        let (geometry, bytes) = Self.framebuffer()
        let path = dir.path + "/full.png"
        // The writer opens path.tmp-PID; pointing that name at /dev/full makes every write fail with ENOSPC.
        try FileManager.default.createSymbolicLink(atPath: "\(path).tmp-\(getpid())", withDestinationPath: "/dev/full")
        #expect(throws: PNGError.self) {
            try bytes.withUnsafeBytes { try PNGWriter.write(pixels: $0.baseAddress!, geometry: geometry, to: path) }
        }
        do {
            try bytes.withUnsafeBytes { try PNGWriter.write(pixels: $0.baseAddress!, geometry: geometry, to: path) }
        } catch {
            Issue.record("the temporary name should be free again after the failure: \(error)")
        }
        try FileManager.default.removeItem(atPath: path)

        try FileManager.default.createSymbolicLink(atPath: "\(path).tmp-\(getpid())", withDestinationPath: "/dev/full")
        do {
            try bytes.withUnsafeBytes { try PNGWriter.write(pixels: $0.baseAddress!, geometry: geometry, to: path) }
            Issue.record("writing to /dev/full succeeded")
        } catch let error as PNGError {
            guard case .writeFailed(let failedPath, let code, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(failedPath == path && code == ENOSPC)
            #expect(error.description.contains("No space left on device") && error.description.contains("free some disk space"))
        }
        #expect(dir.contents().isEmpty)
    }

    @Test("a write into a full tmpfs throws ENOSPC and leaves no file",
          .enabled(if: (geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount")) || runningInCI,
                   "mounting a tiny tmpfs needs root; the /dev/full test covers the same path"))
    func fullTmpfsLeavesNothing() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        try #require(shell("/bin/mount", ["-t", "tmpfs", "-o", "size=12k", "tmpfs", dir.path]),
                     "mount -t tmpfs failed (no CAP_SYS_ADMIN?)")
        defer { _ = shell("/bin/umount", [dir.path]) }
        // Incompressible noise: far more than 12 KiB of PNG data.
        let geometry = FramebufferGeometry(width: 128, height: 128)
        var state: UInt32 = 12345
        let bytes = (0..<geometry.byteCount).map { _ -> UInt8 in
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
        let path = dir.path + "/noise.png"
        #expect {
            try bytes.withUnsafeBytes { try PNGWriter.write(pixels: $0.baseAddress!, geometry: geometry, to: path) }
        } throws: { error in
            guard case PNGError.writeFailed(_, let code, _) = error else { return false }
            return code == ENOSPC
        }
        #expect(dir.contents().isEmpty)
    }

    private func shell(_ executable: String, _ arguments: [String]) -> Bool {
        (try? runProgram(URL(fileURLWithPath: executable), arguments))?.status == 0
    }
}

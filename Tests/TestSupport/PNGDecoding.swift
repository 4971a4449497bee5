import Foundation
import XCTest

/// A PNG decoded by Python's PIL, an independent decoder (Ringside writes PNGs with libpng).
public struct DecodedPNG {
    public let width: Int
    public let height: Int
    /// RGB bytes, row by row.
    public let rgb: [UInt8]

    /// Pixel (x, y) as 0x00RRGGBB.
    public func pixel(x: Int, y: Int) -> UInt32 {
        let i = (y * width + x) * 3
        return UInt32(rgb[i]) << 16 | UInt32(rgb[i + 1]) << 8 | UInt32(rgb[i + 2])
    }

    /// Skips the test (fails it in CI) unless `/usr/bin/python3` can import PIL.
    public static func requireDecoder(file: StaticString = #filePath, line: UInt = #line) throws {
        try requirePythonModule("PIL", install: "apt-get install python3-pil; the independent PNG decoder", python: "/usr/bin/python3",
                                file: file, line: line)
    }

    public init(path: String) throws {
        guard let one = try Self.decodeAll([path]).first else { throw Self.failure("PIL could not decode \(path)") }
        self = one
    }

    init(width: Int, height: Int, rgb: [UInt8]) {
        self.width = width
        self.height = height
        self.rgb = rgb
    }

    /// Decodes every file in `paths` with one Python process (a process per file costs more
    /// than the decoding).
    public static func decodeAll(_ paths: [String]) throws -> [DecodedPNG] {
        guard !paths.isEmpty else { return [] }
        let script = """
            import sys
            from PIL import Image
            for p in sys.argv[1:]:
                im = Image.open(p).convert('RGB')
                sys.stdout.write('%d %d\\n' % im.size); sys.stdout.flush(); sys.stdout.buffer.write(im.tobytes()); sys.stdout.buffer.flush()
            """
        let r = try runProgramData(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", script] + paths, timeout: 300)
        guard r.status == 0 else {
            throw failure("PIL could not decode \(paths.count == 1 ? paths[0] : "one of \(paths.count) files"): \(String(decoding: r.err, as: UTF8.self))")
        }
        var out: [DecodedPNG] = []
        var at = r.out.startIndex
        while at < r.out.endIndex {
            guard let newline = r.out[at...].firstIndex(of: 0x0A) else { throw failure("PIL's output was cut short") }
            let dims = String(decoding: r.out[at..<newline], as: UTF8.self).split(separator: " ").compactMap { Int($0) }
            guard dims.count == 2 else { throw failure("PIL's output has no size line") }
            let start = newline + 1, count = dims[0] * dims[1] * 3
            guard r.out.endIndex - start >= count else { throw failure("PIL's output was cut short") }
            out.append(DecodedPNG(width: dims[0], height: dims[1], rgb: Array(r.out[start..<(start + count)])))
            at = start + count
        }
        guard out.count == paths.count else { throw failure("PIL decoded \(out.count) of \(paths.count) files") }
        return out
    }

    private static func failure(_ message: String) -> NSError {
        NSError(domain: "DecodedPNG", code: 1, userInfo: [NSLocalizedDescriptionKey: message])
    }
}

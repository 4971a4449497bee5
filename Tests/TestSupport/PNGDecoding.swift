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

    /// Skips the test unless `/usr/bin/python3` can import PIL.
    public static func requireDecoder() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import PIL"]
        p.standardError = Pipe()
        guard (try? p.run()) != nil else { throw XCTSkip("needs /usr/bin/python3 with PIL (apt-get install python3-pil) as an independent PNG decoder") }
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw XCTSkip("needs python3-pil as an independent PNG decoder") }
    }

    public init(path: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import sys; from PIL import Image; im = Image.open(sys.argv[1]).convert('RGB'); "
            + "sys.stdout.write('%d %d\\n' % im.size); sys.stdout.flush(); sys.stdout.buffer.write(im.tobytes())", path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let newline = data.firstIndex(of: 0x0A) else {
            throw NSError(domain: "DecodedPNG", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "PIL could not decode \(path)"])
        }
        let dims = String(decoding: data[..<newline], as: UTF8.self).split(separator: " ").compactMap { Int($0) }
        width = dims[0]
        height = dims[1]
        rgb = Array(data[(newline + 1)...])
    }
}

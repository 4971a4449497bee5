import Foundation
import TestSupport

/// Decodes a PNG to packed 8-bit RGB with a decoder that shares no code with libpng's
/// writer path: Python's PIL first, else ImageMagick's `convert`.
enum IndependentDecoder {
    struct Decoder: Sendable {
        let name: String
        let executable: String
        let arguments: @Sendable (String) -> [String]
    }

    /// The decoder found on this machine, or `nil`.
    static let available: Decoder? = {
        let python = "/usr/bin/python3"
        if run(python, ["-c", "import PIL"]) != nil {
            let script = "import sys; from PIL import Image; im = Image.open(sys.argv[1]); "
                + "sys.stdout.buffer.write(im.mode.encode() + b'\\n' + im.convert('RGB').tobytes())"
            return Decoder(name: "PIL", executable: python, arguments: { ["-c", script, $0] })
        }
        // The Debian binary itself, not a wrapper that may stand in front of it.
        for convert in ["/usr/bin/convert-im6.q16", "/usr/bin/convert"] where FileManager.default.isExecutableFile(atPath: convert) {
            return Decoder(name: "ImageMagick", executable: convert, arguments: { [$0, "-depth", "8", "rgb:-"] })
        }
        return nil
    }()

    static let skipReason = "no independent PNG decoder: install python3-pil (/usr/bin/python3 with PIL) or imagemagick"

    /// RGB bytes of the PNG at `path`, row-major, 3 per pixel.
    static func decodeRGB(_ path: String) -> [UInt8]? {
        guard let decoder = available, var output = run(decoder.executable, decoder.arguments(path)) else { return nil }
        if decoder.name == "PIL" {
            guard let newline = output.firstIndex(of: 10) else { return nil }
            let mode = String(decoding: output[..<newline], as: UTF8.self)
            guard mode == "RGB" else { return nil }  // the file must be truecolour RGB, not palette/RGBA
            output = Data(output[(newline + 1)...])
        }
        return [UInt8](output)
    }

    private static func run(_ executable: String, _ arguments: [String]) -> Data? {
        guard FileManager.default.isExecutableFile(atPath: executable),
              let r = try? runProgramData(URL(fileURLWithPath: executable), arguments) else { return nil }
        return r.status == 0 ? r.out : nil
    }
}

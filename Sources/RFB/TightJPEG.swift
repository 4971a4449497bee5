internal import CRFB
import NIOCore

/// Tight's lossy mode (JpegCompression, control byte 0x90): what quality and chroma
/// subsampling a client asked for, and the libjpeg-turbo compressor (through the CRFB shim).
public struct TightJPEGSettings: Equatable, Sendable {
    /// JPEG quality, 1...100.
    public var quality: Int
    public var subsampling: Subsampling

    public enum Subsampling: Int32, Sendable {
        case none = 0, chroma420 = 1, chroma422 = 2, gray = 3
    }

    public init(quality: Int, subsampling: Subsampling) {
        self.quality = min(100, max(1, quality))
        self.subsampling = subsampling
    }

    /// TigerVNC's table for the coarse quality levels 0...9 (pseudo-encodings -32...-23):
    /// JPEG quality and subsampling per level.
    static let levels: [(Int, Subsampling)] = [
        (15, .chroma420), (29, .chroma420), (41, .chroma420), (42, .chroma422), (62, .chroma422),
        (77, .chroma422), (79, .none), (86, .none), (92, .none), (100, .none),
    ]

    /// The settings of coarse quality level `level` (clamped to 0...9).
    public init(level: Int) {
        let l = Self.levels[min(9, max(0, level))]
        self.init(quality: l.0, subsampling: l.1)
    }
}

/// One libjpeg-turbo compressor, reused for a connection's life.
final class JPEGCompressor {
    private let j: OpaquePointer

    init() {
        guard let j = crfb_jpeg_new() else { fatalError("libjpeg: out of memory creating a compressor") }
        self.j = j
    }

    deinit { crfb_jpeg_free(j) }

    /// Appends the JPEG of `rect` of `frame` to `out`; false (nothing appended) if libjpeg
    /// refused, and the caller sends the rectangle losslessly.
    func append(_ rect: RFBRect, of frame: FrameView, settings: TightJPEGSettings, to out: inout ByteBuffer) -> Bool {
        guard !rect.isEmpty, rect.maxX <= frame.width, rect.maxY <= frame.height else { return false }
        var data: UnsafePointer<UInt8>?
        // SAFETY: libjpeg reads `rect`'s rows, checked above to lie inside the frame's bytes.
        let n = crfb_jpeg_compress(j, frame.bytes.baseAddress! + rect.y * frame.pitch + rect.x * 4,
                                   Int32(rect.width), Int32(rect.height), frame.pitch,
                                   Int32(settings.quality), settings.subsampling.rawValue, &data)
        guard n > 0, let data else { return false }
        TightEncoder.appendCompactLength(n, to: &out)
        out.writeBytes(UnsafeRawBufferPointer(start: data, count: n))
        return true
    }
}

/// A JPEG decoder (libjpeg-turbo), for tests that decode what the server sent.
public enum JPEGDecoder {
    /// `width` x `height` R, G, B bytes, or nil if `data` is not a JPEG of that size.
    public static func decode(_ data: [UInt8], width: Int, height: Int) -> [UInt8]? {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let r = data.withUnsafeBufferPointer { d in
            rgb.withUnsafeMutableBufferPointer { o in crfb_jpeg_decompress(d.baseAddress, d.count, o.baseAddress, Int32(width), Int32(height)) }
        }
        return r == 0 ? rgb : nil
    }
}

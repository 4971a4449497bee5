#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CPNG
import Display

/// Writes XRGB8888 pixels as 8-bit RGB PNG files, atomically: the file is written to
/// `path + ".tmp-PID"` and renamed over `path` only once complete, and the temporary file is
/// removed on any failure. A full disk therefore never leaves a broken `.png`; an interrupt
/// mid-write can leave at most a `.tmp-PID` file, never a truncated `.png`.
public enum PNGWriter {
    /// PNG row filters libpng may choose between (its adaptive choice when several are given).
    public struct Filters: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let none = Filters(rawValue: CPNG_FILTER_NONE)
        public static let sub = Filters(rawValue: CPNG_FILTER_SUB)
        public static let up = Filters(rawValue: CPNG_FILTER_UP)
        public static let average = Filters(rawValue: CPNG_FILTER_AVG)
        public static let paeth = Filters(rawValue: CPNG_FILTER_PAETH)
        public static let all: Filters = [.none, .sub, .up, .average, .paeth]
    }

    /// Encoder settings.
    public struct Options: Sendable, Equatable {
        /// zlib level, 0 (store) ... 9 (smallest).
        public var compressionLevel: Int
        /// Row filters libpng may choose from.
        public var filters: Filters
        /// `fsync` each file before renaming it (survives a machine crash; slower).
        public var durable: Bool

        /// zlib level 2 with the UP filter, no fsync. Measured on 1280x800 (x86-64, release):
        /// a flat desktop with text encodes in ~7.4 ms (40 KB) and a full-screen gradient in
        /// ~9.3 ms (119 KB); UP was the fastest filter on the gradient and near the fastest on
        /// flat content, while NONE balloons gradients (760 KB) and libpng's adaptive choice
        /// of all filters costs twice the time. Level 6 halves flat files but doubles the time.
        public static let fast = Options(compressionLevel: 2, filters: .up, durable: false)

        /// A custom setting.
        public init(compressionLevel: Int, filters: Filters, durable: Bool) {
            self.compressionLevel = compressionLevel
            self.filters = filters
            self.durable = durable
        }
    }

    /// Writes the visible pixels of `shadow` to `path`.
    public static func write(_ shadow: ShadowFramebuffer, to path: String, options: Options = .fast) throws(PNGError) {
        try shadow.withUnsafeBytes { (bytes) throws(PNGError) in
            try write(pixels: bytes.baseAddress!, geometry: shadow.geometry, to: path, options: options)
        }
    }

    /// Writes `canvas` to `path`.
    public static func write(_ canvas: PixelCanvas, to path: String, options: Options = .fast) throws(PNGError) {
        try canvas.withUnsafeBytes { (bytes) throws(PNGError) in
            try write(pixels: bytes.baseAddress!, geometry: canvas.geometry, to: path, options: options)
        }
    }

    /// Writes the framebuffer at `pixels` (shape `geometry`; padding bytes are not read as
    /// pixels) to `path`.
    public static func write(pixels: UnsafeRawPointer, geometry: FramebufferGeometry, to path: String,
                             options: Options = .fast) throws(PNGError) {
        let temporary = "\(path).tmp-\(getpid())"
        var message = [CChar](repeating: 0, count: 256)
        let code = message.withUnsafeMutableBufferPointer { buffer in
            cpng_write_xrgb(temporary, pixels, UInt32(geometry.width), UInt32(geometry.height),
                            UInt32(geometry.pitch), Int32(options.compressionLevel), options.filters.rawValue,
                            options.durable ? UInt32(CPNG_SYNC) : 0, buffer.baseAddress, buffer.count)
        }
        guard code == 0 else {
            unlink(temporary)
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw .writeFailed(path: path, errno: code, message: text)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .writeFailed(path: path, errno: code, message: "rename: \(errnoText(code))")
        }
    }
}

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
    /// Encoder settings.
    public struct Options: Sendable, Equatable {
        /// zlib level, 0 (store) ... 9 (smallest).
        public var compressionLevel: Int
        /// Row filters libpng may choose from (a set of `CPNG_FILTER_*` bits).
        public var filters: Int32
        /// `fsync` each file before renaming it (survives a machine crash; slower).
        public var durable: Bool

        /// Level 1 with the SUB filter: the fastest setting that still compresses screen
        /// content well (see the measurements in the package notes).
        public static let fast = Options(compressionLevel: 1, filters: 0x10, durable: false)

        /// A custom setting.
        public init(compressionLevel: Int, filters: Int32, durable: Bool) {
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
                            UInt32(geometry.pitch), Int32(options.compressionLevel), options.filters,
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

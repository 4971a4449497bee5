/// The shape of a linear XRGB8888 framebuffer: each pixel is a little-endian `UInt32`
/// `0x00RRGGBB` (bytes B, G, R, X in memory), rows `pitch` bytes apart.
///
/// Bytes between `width * 4` and `pitch` at the end of each row are padding: they belong to
/// no pixel and no tile, and nothing in the display core reads them as pixels.
public struct FramebufferGeometry: Sendable, Equatable, CustomStringConvertible {
    /// Bytes per pixel of XRGB8888.
    public static let bytesPerPixel = 4

    /// Visible pixels per row.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Bytes from the start of one row to the start of the next (`>= width * 4`).
    public let pitch: Int

    /// Bytes the framebuffer occupies, padding included: `pitch * height`.
    public var byteCount: Int { pitch * height }

    /// Visible bytes of one row: `width * 4`.
    public var rowBytes: Int { width * Self.bytesPerPixel }

    /// A framebuffer of `width` x `height` pixels whose rows are `pitch` bytes apart.
    /// - Precondition: `width > 0`, `height > 0`, `pitch >= width * 4`.
    public init(width: Int, height: Int, pitch: Int) {
        precondition(width > 0 && height > 0, "framebuffer must have at least one pixel")
        precondition(pitch >= width * Self.bytesPerPixel, "pitch \(pitch) is shorter than a row of \(width) pixels")
        self.width = width
        self.height = height
        self.pitch = pitch
    }

    /// A framebuffer without row padding (`pitch == width * 4`).
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pitch: width * Self.bytesPerPixel)
    }

    /// `1280x800 pitch 5120`.
    public var description: String { "\(width)x\(height) pitch \(pitch)" }
}

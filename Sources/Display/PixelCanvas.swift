/// A heap-owned XRGB8888 picture (rows `width * 4` bytes apart) for views the display
/// composes itself: the `--show-split` view, charts. Allocated once; drawing never allocates.
public struct PixelCanvas: Sendable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Pixels row-major, each `0x00RRGGBB`.
    public private(set) var pixels: [UInt32]

    /// Bytes per row (`width * 4`; no padding).
    public var pitch: Int { width * FramebufferGeometry.bytesPerPixel }
    /// The canvas as a framebuffer shape, for sinks such as the PNG writer.
    public var geometry: FramebufferGeometry { FramebufferGeometry(width: width, height: height) }

    /// A `width` x `height` canvas filled with `background`.
    public init(width: Int, height: Int, background: UInt32 = 0) {
        precondition(width > 0 && height > 0, "canvas must have at least one pixel")
        self.width = width
        self.height = height
        pixels = [UInt32](repeating: background, count: width * height)
    }

    /// The pixel at (`x`, `y`).
    public func pixel(x: Int, y: Int) -> UInt32 { pixels[y * width + x] }

    /// Sets the pixel at (`x`, `y`) if it lies on the canvas.
    public mutating func setPixel(x: Int, y: Int, _ color: UInt32) {
        guard x >= 0 && x < width && y >= 0 && y < height else { return }
        pixels[y * width + x] = color
    }

    /// Fills the whole canvas.
    public mutating func fill(_ color: UInt32) {
        pixels.withUnsafeMutableBufferPointer { $0.update(repeating: color) }
    }

    /// Fills `rect`, clipped to the canvas.
    public mutating func fillRect(_ rect: TileRect, color: UInt32) {
        let x0 = max(rect.x, 0), x1 = min(rect.maxX, width)
        let y0 = max(rect.y, 0), y1 = min(rect.maxY, height)
        guard x0 < x1 && y0 < y1 else { return }
        pixels.withUnsafeMutableBufferPointer { p in
            for y in y0..<y1 {
                let row = y * width
                for x in x0..<x1 { p[row + x] = color }
            }
        }
    }

    /// Draws a one-pixel outline just inside `rect`, clipped to the canvas.
    public mutating func strokeRect(_ rect: TileRect, color: UInt32) {
        fillRect(TileRect(x: rect.x, y: rect.y, width: rect.width, height: 1), color: color)
        fillRect(TileRect(x: rect.x, y: rect.maxY - 1, width: rect.width, height: 1), color: color)
        fillRect(TileRect(x: rect.x, y: rect.y, width: 1, height: rect.height), color: color)
        fillRect(TileRect(x: rect.maxX - 1, y: rect.y, width: 1, height: rect.height), color: color)
    }

    /// Width in pixels of `text` drawn at `scale`.
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        text.unicodeScalars.count * BitmapFont.size * scale
    }

    /// Draws `text` with its top-left corner at (`x`, `y`) in the built-in 8x8 font, each font
    /// pixel a `scale` x `scale` square; characters outside ASCII 32...126 draw as `?`.
    /// Returns the x just past the last character.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, color: UInt32, scale: Int = 1) -> Int {
        var penX = x
        for scalar in text.unicodeScalars {
            let glyph = BitmapFont.glyph(scalar)
            for (row, bits) in glyph.enumerated() where bits != 0 {
                for column in 0..<BitmapFont.size where bits & (1 << column) != 0 {
                    fillRect(TileRect(x: penX + column * scale, y: y + row * scale, width: scale, height: scale),
                             color: color)
                }
            }
            penX += BitmapFont.size * scale
        }
        return penX
    }

    /// Copies the visible pixels of `shadow` to (`x`, `y`) at 1:1, clipped to the canvas.
    public mutating func blit(from shadow: ShadowFramebuffer, x: Int, y: Int) {
        let g = shadow.geometry
        let x0 = max(x, 0), x1 = min(x + g.width, width)
        let y0 = max(y, 0), y1 = min(y + g.height, height)
        guard x0 < x1 && y0 < y1 else { return }
        let canvasWidth = width
        shadow.withUnsafeBytes { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for cy in y0..<y1 {
                    let srcRow = (cy - y) * g.pitch
                    for cx in x0..<x1 {
                        let value = src.loadUnaligned(fromByteOffset: srcRow + (cx - x) * 4, as: UInt32.self)
                        dst[cy * canvasWidth + cx] = UInt32(littleEndian: value) & 0x00FF_FFFF
                    }
                }
            }
        }
    }

    /// Applies the `--show-dirty` tint (see `tint(pixels:pitch:grid:heat:)`) to the copy of the
    /// screen of `grid`'s geometry whose top-left corner is at (`x`, `y`) on this canvas.
    /// - Precondition: that screen lies wholly on the canvas.
    public mutating func tint(screenAtX x: Int, y: Int, grid: TileGrid, heat: DirtyHeatmap) {
        precondition(x >= 0 && y >= 0 && x + grid.geometry.width <= width && y + grid.geometry.height <= height,
                     "screen does not fit the canvas")
        let pitch = self.pitch
        pixels.withUnsafeMutableBytes { bytes in
            Display.tint(pixels: bytes.baseAddress! + y * pitch + x * 4, pitch: pitch, grid: grid, heat: heat)
        }
    }

    /// Lends the canvas bytes (rows `pitch` bytes apart) to `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var result: Result<R, E>!
        pixels.withUnsafeBytes { bytes in
            do throws(E) { result = .success(try body(bytes)) } catch { result = .failure(error) }
        }
        return try result.get()
    }
}

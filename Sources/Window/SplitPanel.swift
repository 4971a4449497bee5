import Display
import SplitView

/// The `--show-split` content of a window: the canvas the split view is drawn on, and what
/// its migration panel shows (the pages of each slot, the round, the caption lines).
struct SplitPanel {
    private(set) var canvas: PixelCanvas
    private var slots: [PageMapSlot] = []
    private var round = 0
    private var caption: [String]
    /// The panel changed since the last render.
    var changed = true

    /// A panel with `captionLines` lines of caption, sized for screens of `geometry`.
    init(geometry: FramebufferGeometry, captionLines: Int) {
        caption = [String](repeating: "", count: max(captionLines, 0))
        let size = splitViewCanvasSize(for: geometry, captionLines: caption.count)
        canvas = PixelCanvas(width: size.width, height: size.height)
    }

    /// The content size (the whole split view) for screens of `geometry`.
    func size(for geometry: FramebufferGeometry) -> (width: Int, height: Int) {
        splitViewCanvasSize(for: geometry, captionLines: caption.count)
    }

    /// Follows a new screen geometry: a canvas of the new size, redrawn at the next render.
    mutating func resize(for geometry: FramebufferGeometry) {
        let size = self.size(for: geometry)
        canvas = PixelCanvas(width: size.width, height: size.height)
        changed = true
    }

    /// What the migration panel shows next; `caption` is cut or padded to the panel's lines.
    mutating func show(slots: [PageMapSlot], round: Int, caption: [String]) {
        self.slots = slots
        self.round = round
        for i in self.caption.indices { self.caption[i] = i < caption.count ? caption[i] : "" }
        changed = true
    }

    /// Draws the split view of `frame` (tinted by `heat` when given) into the canvas.
    mutating func render(frame: ShadowFramebuffer, heat: DirtyHeatmap?, grid: TileGrid) {
        renderSplitView(shadow: frame, heat: heat, grid: grid, slots: slots, round: round, caption: caption, into: &canvas)
        changed = false
    }
}

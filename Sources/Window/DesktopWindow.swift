import Display
internal import CSDL
import Input
import SplitView

/// The desktop window: shows a tracked guest screen (or the `--show-split` view of it),
/// forwards keys, pointer, buttons and wheel to the guest through `input`, and turns
/// Ctrl+Alt shortcuts into commands.
///
/// Its owner feeds it in two steps so that the screen never holds up tracking:
/// 1. `upload(from:dirty:)`, while the tracker's lock is held, copies only the repainted
///    tiles out of the shadow into the window's own copy of the screen (a few memcpys);
/// 2. `present()`, after the lock is released, tints, scales and pushes the changed
///    rectangles (merged from the dirty tiles) to the screen.
///
/// Single-threaded: create it, feed it and poll it on one thread (the main thread).
/// Feeding and presenting are in `DesktopWindowPresent.swift`, events and shortcuts in
/// `DesktopWindowEvents.swift`. The window saves no files: a screenshot is `screen`, which
/// its owner writes where and how it likes.
public final class DesktopWindow {
    /// Tiles of the guest screen.
    public internal(set) var grid: TileGrid
    public let options: Options
    /// Whether repainted tiles are tinted.
    public internal(set) var showDirty: Bool
    /// Whether the window fills the screen.
    public internal(set) var isFullScreen = false
    /// Size of what the window shows (the screen, or the split view) before scaling.
    public internal(set) var contentWidth: Int, contentHeight: Int
    /// Where the content currently sits in the window.
    public internal(set) var letterbox: Letterbox

    let handle: OpaquePointer
    /// The guest screen as of the last upload; never tinted.
    var frame: ShadowFramebuffer
    /// A tinted copy of `frame` (show-dirty on the bare screen); same pitch.
    var tinted: HugePageBuffer
    /// The split view's canvas and migration panel (nil: the bare screen).
    var split: SplitPanel?
    var heat: DirtyHeatmap
    /// Tiles uploaded since the last present, and tiles tinted at the last one.
    var pending: DirtyTileBitmap
    var wasHot: DirtyTileBitmap
    var needsFull = true
    var surface = csdl_surface()
    var contentRects: [TileRect] = []
    var windowRects: [Int32] = []
    var total = PresentStats()
    var interval = PresentStats()
    var message = [CChar](repeating: 0, count: 512)
    var forwarder = InputForwarder()
    /// The guest cursor shown as the host's (WindowCursor.swift): its shape and visibility.
    var hostCursor: (shape: CursorShape, visible: Bool)?
    /// Where the guest's picture sits in the content.
    let screenRect: TileRect

    /// Where keys and pointer go (the guest's input queue); nil keeps them in the window.
    /// Every key except the Ctrl+Alt shortcuts is forwarded.
    public var input: (any InputSink)? {
        get { forwarder.sink }
        set { forwarder.releaseAll(); forwarder = InputForwarder(sink: newValue) }
    }

    /// Opens a window for screens of `grid`'s geometry, as large as the content (shrunk to
    /// fit the display if need be).
    public init(grid: TileGrid, options: Options = Options()) throws(WindowError) {
        self.grid = grid
        self.options = options
        showDirty = options.showDirty
        let g = grid.geometry
        frame = ShadowFramebuffer(geometry: g)
        tinted = HugePageBuffer(byteCount: g.byteCount)
        heat = DirtyHeatmap(count: grid.count, window: options.heatWindow)
        pending = DirtyTileBitmap(count: grid.count)
        wasHot = DirtyTileBitmap(count: grid.count)
        if options.split {
            let panel = SplitPanel(geometry: g, captionLines: options.captionLines)
            split = panel
            (contentWidth, contentHeight) = panel.size(for: g)
            screenRect = splitViewScreenRect(for: g)
        } else {
            (contentWidth, contentHeight) = (g.width, g.height)
            screenRect = TileRect(x: 0, y: 0, width: g.width, height: g.height)
        }
        try SDLVideo.acquire(options.presentPath)
        var width = contentWidth, height = contentHeight
        if let screen = SDLVideo.usableSize, width > screen.width || height > screen.height {
            let fit = Letterbox(contentWidth: width, contentHeight: height, windowWidth: screen.width,
                                windowHeight: screen.height, nearest: false)
            (width, height) = (fit.placement.width, fit.placement.height)
        }
        letterbox = Letterbox(contentWidth: contentWidth, contentHeight: contentHeight,
                              windowWidth: width, windowHeight: height, nearest: options.nearest)
        let opened = message.withUnsafeMutableBufferPointer {
            csdl_window_open(options.title, Int32(width), Int32(height), $0.baseAddress, $0.count)
        }
        guard let opened else {
            SDLVideo.release()
            throw .windowFailed(SDLVideo.text(message))
        }
        handle = opened
    }

    deinit {
        csdl_window_close(handle)
        SDLVideo.release()
    }

    /// Follows a guest mode set: the screen is now of `newGrid`'s geometry. The window keeps
    /// its size; the new content is letterboxed into it and fully repainted at the next
    /// present. Call `upload` with the new shadow next.
    public func resizeContent(to newGrid: TileGrid) {
        guard newGrid.geometry != grid.geometry || newGrid.tile != grid.tile else { return }
        grid = newGrid
        let g = newGrid.geometry
        frame = ShadowFramebuffer(geometry: g)
        tinted = HugePageBuffer(byteCount: g.byteCount)
        heat = DirtyHeatmap(count: newGrid.count, window: options.heatWindow)
        pending = DirtyTileBitmap(count: newGrid.count)
        wasHot = DirtyTileBitmap(count: newGrid.count)
        if split != nil {
            split!.resize(for: g)
            (contentWidth, contentHeight) = split!.size(for: g)
        } else {
            (contentWidth, contentHeight) = (g.width, g.height)
        }
        letterbox = Letterbox(contentWidth: contentWidth, contentHeight: contentHeight,
                              windowWidth: letterbox.windowWidth, windowHeight: letterbox.windowHeight, nearest: options.nearest)
        needsFull = true
    }

    /// The video driver SDL chose (e.g. "x11").
    public var videoDriver: String { SDLVideo.driver }

    /// Top-left corner of the window's client area on the screen.
    public var screenPosition: (x: Int, y: Int) {
        var x: Int32 = 0, y: Int32 = 0
        csdl_window_position(handle, &x, &y)
        return (Int(x), Int(y))
    }

    public func setTitle(_ title: String) { csdl_window_set_title(handle, title) }

    /// Asks for a client area of `width` x `height`, centred on the display; the picture is letterboxed into it from
    /// the next `present()` after the window manager agrees (see `pollCommands`).
    public func setSize(width: Int, height: Int) { csdl_window_set_size(handle, Int32(width), Int32(height)) }

    /// Client area size as of the last `present()`.
    public var size: (width: Int, height: Int) { (Int(surface.width), Int(surface.height)) }

    /// Shows show-dirty tints (D toggles it too).
    public func setShowDirty(_ on: Bool) {
        guard on != showDirty else { return }
        showDirty = on
        needsFull = true
    }

    /// Switches between a window and the whole screen.
    public func toggleFullScreen() {
        let rc = csdl_window_toggle_fullscreen(handle)
        if rc >= 0 { isFullScreen = rc == 1 }
        needsFull = true
    }

    /// The guest screen as of the last upload (never tinted): what a screenshot saves.
    public var screen: ShadowFramebuffer { frame }
}

import Display
import Foundation
internal import CSDL
import Input
import PNGOutput
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
public final class DesktopWindow {
    /// What the window shows besides the screen.
    public struct Options: Sendable {
        /// Window title.
        public var title: String
        /// Whole-number zoom, nearest-neighbour, instead of filtered scaling to fit.
        public var nearest: Bool
        /// Start with repainted tiles tinted (D toggles).
        public var showDirty: Bool
        /// Show the split view (screen beside the migration panel) instead of the bare screen.
        public var split: Bool
        /// Caption lines under the split view.
        public var captionLines: Int
        /// Frames a repaint stays tinted.
        public var heatWindow: Int
        /// How the surface reaches the screen.
        public var presentPath: PresentPath

        public init(title: String = "Ringside", nearest: Bool = false, showDirty: Bool = false, split: Bool = false,
                    captionLines: Int = 1, heatWindow: Int = 8, presentPath: PresentPath = .native) {
            self.title = title
            self.nearest = nearest
            self.showDirty = showDirty
            self.split = split
            self.captionLines = captionLines
            self.heatWindow = heatWindow
            self.presentPath = presentPath
        }
    }

    /// Tiles of the guest screen.
    public private(set) var grid: TileGrid
    public let options: Options
    /// Whether repainted tiles are tinted.
    public private(set) var showDirty: Bool
    /// Whether the window fills the screen.
    public private(set) var isFullScreen = false
    /// Size of what the window shows (the screen, or the split view) before scaling.
    public private(set) var contentWidth: Int, contentHeight: Int
    /// Where the content currently sits in the window.
    public private(set) var letterbox: Letterbox

    private let handle: OpaquePointer
    /// The guest screen as of the last upload; never tinted.
    private var frame: ShadowFramebuffer
    /// A tinted copy of `frame` (show-dirty on the bare screen); same pitch.
    private var tinted: UnsafeMutableRawPointer
    private var canvas: PixelCanvas
    private var slots: [PageMapSlot] = []
    private var round = 0
    private var caption: [String]
    private var panelChanged = true
    private var heat: DirtyHeatmap
    private var pending: DirtyTileBitmap
    private var wasHot: DirtyTileBitmap
    private var needsFull = true
    private var surface = csdl_surface()
    private var contentRects: [TileRect] = []
    private var windowRects: [Int32] = []
    private var total = PresentStats()
    private var interval = PresentStats()
    private var message = [CChar](repeating: 0, count: 512)
    private var forwarder = InputForwarder()
    /// Where the guest's picture sits in the content.
    private let screenRect: TileRect

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
        tinted = UnsafeMutableRawPointer.allocate(byteCount: g.byteCount, alignment: 64)
        tinted.initializeMemory(as: UInt8.self, repeating: 0, count: g.byteCount)
        heat = DirtyHeatmap(count: grid.count, window: options.heatWindow)
        pending = DirtyTileBitmap(count: grid.count)
        wasHot = DirtyTileBitmap(count: grid.count)
        caption = [String](repeating: "", count: options.split ? max(options.captionLines, 0) : 0)
        if options.split {
            let size = splitViewCanvasSize(for: g, captionLines: caption.count)
            (contentWidth, contentHeight) = (size.width, size.height)
        } else {
            (contentWidth, contentHeight) = (g.width, g.height)
        }
        canvas = PixelCanvas(width: options.split ? contentWidth : 1, height: options.split ? contentHeight : 1)
        screenRect = options.split ? splitViewScreenRect(for: g) : TileRect(x: 0, y: 0, width: g.width, height: g.height)

        do {
            try SDLVideo.acquire(options.presentPath)
        } catch {
            tinted.deallocate()
            throw error
        }
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
            tinted.deallocate()
            throw .windowFailed(SDLVideo.text(message))
        }
        handle = opened
    }

    deinit {
        csdl_window_close(handle)
        SDLVideo.release()
        tinted.deallocate()
    }

    /// Follows a guest mode set: the screen is now of `newGrid`'s geometry. The window keeps
    /// its size; the new content is letterboxed into it and fully repainted at the next
    /// present. Call `upload` with the new shadow next.
    public func resizeContent(to newGrid: TileGrid) {
        guard newGrid.geometry != grid.geometry || newGrid.tile != grid.tile else { return }
        grid = newGrid
        let g = newGrid.geometry
        frame = ShadowFramebuffer(geometry: g)
        tinted.deallocate()
        tinted = UnsafeMutableRawPointer.allocate(byteCount: g.byteCount, alignment: 64)
        tinted.initializeMemory(as: UInt8.self, repeating: 0, count: g.byteCount)
        heat = DirtyHeatmap(count: newGrid.count, window: options.heatWindow)
        pending = DirtyTileBitmap(count: newGrid.count)
        wasHot = DirtyTileBitmap(count: newGrid.count)
        if options.split {
            let size = splitViewCanvasSize(for: g, captionLines: caption.count)
            (contentWidth, contentHeight) = (size.width, size.height)
            canvas = PixelCanvas(width: contentWidth, height: contentHeight)
            panelChanged = true
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


    // MARK: - feeding

    /// Copies the tiles in `dirty` from `shadow` (the tracked screen, of `grid`'s geometry)
    /// into the window's copy. Call it while the tracker holds `shadow` still; it does no
    /// drawing.
    public func upload(from shadow: ShadowFramebuffer, dirty: DirtyTileBitmap) {
        let start = DispatchTime.now().uptimeNanoseconds
        shadow.withUnsafeBytes { bytes in
            // The shadow has the window copy's geometry (both from `grid`), so tile offsets agree.
            _ = frame.copyTiles(dirty, grid: grid, from: bytes.baseAddress!)
        }
        pending.formUnion(dirty)
        let nanos = DispatchTime.now().uptimeNanoseconds - start
        total.uploadNanos += nanos
        interval.uploadNanos += nanos
    }

    /// Sets what the split view's migration panel shows from the next `present()` on.
    /// `caption` is cut or padded to `options.captionLines` lines.
    public func setMigrationPanel(slots: [PageMapSlot], round: Int, caption: [String]) {
        self.slots = slots
        self.round = round
        for i in self.caption.indices { self.caption[i] = i < caption.count ? caption[i] : "" }
        panelChanged = true
    }

    /// Shows show-dirty tints (D toggles it too).
    public func setShowDirty(_ on: Bool) {
        guard on != showDirty else { return }
        showDirty = on
        needsFull = true
    }

    // MARK: - presenting

    /// Draws what changed since the last present: repainted tiles, tints that fade, the
    /// split view; or everything after a resize or expose. One display frame.
    public func present() throws(WindowError) {
        let start = DispatchTime.now().uptimeNanoseconds
        try refreshSurface()

        // Tints fade every frame: a tile tinted last frame is redrawn this frame too.
        wasHot.clearAll()
        for t in 0..<grid.count where heat.intensity(ofTile: t) > 0 { wasHot.set(t) }
        heat.age(marking: pending)
        let tiles = pending.popCount

        contentRects.removeAll(keepingCapacity: true)
        let source: UnsafeRawPointer
        let sourcePitch: Int
        if options.split {
            let warm = showDirty && !wasHot.isEmpty
            if needsFull || !pending.isEmpty || panelChanged || warm {
                renderSplitView(shadow: frame, heat: showDirty ? heat : nil, grid: grid, slots: slots,
                                round: round, caption: caption, into: &canvas)
                contentRects.append(TileRect(x: 0, y: 0, width: contentWidth, height: contentHeight))
                panelChanged = false
            }
            source = canvas.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }
            sourcePitch = canvas.pitch
        } else {
            if showDirty { pending.formUnion(wasHot) }
            if needsFull {
                contentRects.append(TileRect(x: 0, y: 0, width: contentWidth, height: contentHeight))
            } else {
                mergedRectangles(pending, grid: grid, into: &contentRects)
            }
            if showDirty {
                copyTinted(contentRects)
                source = UnsafeRawPointer(tinted)
            } else {
                source = frame.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }
            }
            sourcePitch = grid.geometry.pitch
        }
        pending.clearAll()

        // SAFETY (source): `canvas` and `frame` are owned by this window and not touched
        // again until the blits below are done; `tinted` is our own allocation.
        windowRects.removeAll(keepingCapacity: true)
        let box = letterbox
        let smooth: Int32 = box.smooth ? 1 : 0
        if needsFull && !contentRects.isEmpty {
            csdl_fill(surface.pixels, surface.pitch, 0, 0, surface.width, surface.height, 0)
            windowRects += [0, 0, surface.width, surface.height]
        }
        for rect in contentRects {
            let w = box.windowRect(covering: rect)
            guard w.width > 0 && w.height > 0 else { continue }
            csdl_blit(source, Int32(sourcePitch), Int32(contentWidth), Int32(contentHeight),
                      surface.pixels, surface.pitch,
                      Int32(box.placement.x), Int32(box.placement.y), Int32(box.placement.width), Int32(box.placement.height),
                      Int32(w.x), Int32(w.y), Int32(w.width), Int32(w.height), smooth)
            if !needsFull { windowRects += [Int32(w.x), Int32(w.y), Int32(w.width), Int32(w.height)] }
        }
        needsFull = false

        var stats = PresentStats()
        stats.frames = 1
        stats.tiles = tiles
        if !windowRects.isEmpty {
            let count = Int32(windowRects.count / 4)
            let rc = windowRects.withUnsafeBufferPointer { r in
                message.withUnsafeMutableBufferPointer { csdl_window_update_rects(handle, r.baseAddress, count, $0.baseAddress, $0.count) }
            }
            if rc != 0 { throw .presentFailed(SDLVideo.text(message)) }
            stats.updates = 1
            stats.rects = Int(count)
            stats.presentNanos = DispatchTime.now().uptimeNanoseconds - start
        }
        total.add(stats)
        interval.add(stats)
    }

    /// Totals since the window opened.
    public var totalStats: PresentStats { total }

    /// Totals since the previous call (for a title or log line about once a second).
    public func takeIntervalStats() -> PresentStats {
        defer { interval = PresentStats() }
        return interval
    }

    /// Re-reads the window surface; a new size (or a new surface) means a full repaint.
    private func refreshSurface() throws(WindowError) {
        var s = csdl_surface()
        let rc = message.withUnsafeMutableBufferPointer { csdl_window_surface(handle, &s, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw .presentFailed(SDLVideo.text(message)) }
        if s.pixels != surface.pixels || s.width != surface.width || s.height != surface.height {
            surface = s
            letterbox = Letterbox(contentWidth: contentWidth, contentHeight: contentHeight,
                                  windowWidth: Int(s.width), windowHeight: Int(s.height), nearest: options.nearest)
            needsFull = true
        }
    }

    /// Refreshes `rects` of the tinted copy from `frame`, then tints every warm tile (each
    /// lies inside `rects`, so none is tinted twice).
    private func copyTinted(_ rects: [TileRect]) {
        let g = grid.geometry
        frame.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            for r in rects {
                for y in r.y..<r.maxY {
                    let offset = y * g.pitch + r.x * FramebufferGeometry.bytesPerPixel
                    // SAFETY: r lies inside the screen; both buffers hold g.byteCount bytes.
                    (tinted + offset).copyMemory(from: base + offset, byteCount: r.width * FramebufferGeometry.bytesPerPixel)
                }
            }
        }
        tint(pixels: tinted, pitch: g.pitch, grid: grid, heat: heat)
    }

    // MARK: - input

    /// Handles window events for up to `seconds` (returning at the first batch), and returns
    /// what the owner must do. Resizes, exposes, Ctrl+Alt+F (full screen) and Ctrl+Alt+D
    /// (show-dirty) are handled here; keys, pointer, buttons and wheel go to `input`.
    public func pollCommands(waitingUpTo seconds: Double = 0) -> [WindowCommand] {
        var commands: [WindowCommand] = []
        var timeout = Int32(max(0, min(seconds * 1000, 1000)).rounded(.up))
        var event = csdl_event()
        while csdl_wait_event(&event, timeout) != 0 {
            timeout = 0
            switch event.kind {
            case Int32(CSDL_EVENT_QUIT):
                commands.append(.quit)
            case Int32(CSDL_EVENT_RESIZED), Int32(CSDL_EVENT_EXPOSED):
                needsFull = true
            case Int32(CSDL_EVENT_KEY) where event.autorepeat != 0:
                // Never a shortcut again: holding Ctrl+Alt+F must not toggle full screen on and off.
                forwarder.keyRepeat(evdev: UInt16(truncatingIfNeeded: event.evdev))
            case Int32(CSDL_EVENT_KEY):
                // A shortcut's key never reaches the guest (nor, then, does its release).
                if event.down != 0 && event.ctrl_alt != 0, let command = shortcut(event.key) {
                    if let command { commands.append(command) }
                    continue
                }
                forwarder.key(evdev: UInt16(truncatingIfNeeded: event.evdev), down: event.down != 0)
            case Int32(CSDL_EVENT_MOTION):
                forwarder.motion(to: guestPoint(event))
            case Int32(CSDL_EVENT_BUTTON):
                let button: PointerButton = event.button == Int32(CSDL_BUTTON_LEFT) ? .left : event.button == Int32(CSDL_BUTTON_RIGHT) ? .right : .middle
                forwarder.button(button, down: event.down != 0, at: guestPoint(event))
            case Int32(CSDL_EVENT_WHEEL):
                forwarder.wheel(vertical: event.y, horizontal: event.x)
            case Int32(CSDL_EVENT_FOCUS_LOST):
                forwarder.releaseAll()
            default:
                break
            }
        }
        return commands
    }

    /// Ctrl+Alt + `key`: `.some(command)` for a shortcut (`.some(nil)` when the window
    /// handled it itself), nil when `key` is not one.
    private func shortcut(_ key: Int32) -> WindowCommand?? {
        switch key {
        case Int32(CSDL_KEY_Q): return .some(.quit)
        case Int32(CSDL_KEY_S): return .some(.screenshot)
        case Int32(CSDL_KEY_M): return .some(.migrate)
        case Int32(CSDL_KEY_F): toggleFullScreen(); return .some(nil)
        case Int32(CSDL_KEY_D): setShowDirty(!showDirty); return .some(nil)
        default: return nil
        }
    }

    /// The guest pixel under the event's pointer position, clamped to the picture while a
    /// button is held; nil off the picture.
    private func guestPoint(_ event: csdl_event) -> (x: Int32, y: Int32)? {
        InputForwarder.guestPoint(letterbox, screen: screenRect, windowX: Int(event.x), windowY: Int(event.y),
                                  clamp: !forwarder.buttonsDown.isEmpty)
    }

    /// The Linux evdev code SDL's key `name` ("A", "Left Shift", ...) is forwarded as; 0 for none.
    static func evdevCode(sdlKeyName name: String) -> UInt16 { csdl_evdev_code(csdl_scancode_from_name(name)) }

    /// Switches between a window and the whole screen.
    public func toggleFullScreen() {
        let rc = csdl_window_toggle_fullscreen(handle)
        if rc >= 0 { isFullScreen = rc == 1 }
        needsFull = true
    }

    /// Writes the guest screen as of the last upload (never tinted) to a PNG file at `path`.
    public func saveScreenshot(to path: String) throws(PNGError) {
        try PNGWriter.write(frame, to: path)
    }

    /// The guest screen as of the last upload.
    public var screen: ShadowFramebuffer { frame }
}

extension PresentStats {
    mutating func add(_ o: PresentStats) {
        frames += o.frames
        updates += o.updates
        tiles += o.tiles
        rects += o.rects
        uploadNanos += o.uploadNanos
        presentNanos += o.presentNanos
    }
}

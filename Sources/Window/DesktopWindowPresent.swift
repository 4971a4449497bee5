import Dispatch
import Display
import SplitView
internal import CSDL

extension DesktopWindow {
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
        split?.show(slots: slots, round: round, caption: caption)
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
        let (source, sourcePitch) = split != nil ? composeSplitView() : composeScreen()
        pending.clearAll()
        blitContent(from: source, pitch: sourcePitch)
        needsFull = false

        var stats = PresentStats()
        stats.frames = 1
        stats.tiles = tiles
        if !windowRects.isEmpty {
            try pushWindowRects()
            stats.updates = 1
            stats.rects = windowRects.count / 4
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

    /// The split view: redrawn whole when anything in it changed. Returns the canvas.
    private func composeSplitView() -> (UnsafeRawPointer, Int) {
        let warm = showDirty && !wasHot.isEmpty
        if needsFull || !pending.isEmpty || split!.changed || warm {
            split!.render(frame: frame, heat: showDirty ? heat : nil, grid: grid)
            contentRects.append(TileRect(x: 0, y: 0, width: contentWidth, height: contentHeight))
        }
        let canvas = split!.canvas
        return (canvas.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }, canvas.pitch)
    }

    /// The bare screen: the repainted tiles (and those whose tint fades) as rectangles, tinted
    /// when show-dirty is on. Returns the window's copy of the screen or its tinted copy.
    private func composeScreen() -> (UnsafeRawPointer, Int) {
        if showDirty { pending.formUnion(wasHot) }
        if needsFull {
            contentRects.append(TileRect(x: 0, y: 0, width: contentWidth, height: contentHeight))
        } else {
            mergedRectangles(pending, grid: grid, into: &contentRects)
        }
        if showDirty {
            copyTinted(contentRects)
            return (UnsafeRawPointer(tinted.base), grid.geometry.pitch)
        }
        return (frame.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }, grid.geometry.pitch)
    }

    /// Scales `contentRects` of the content at `source` into the window surface and lists the
    /// window rectangles to push (the whole surface after a resize or expose).
    private func blitContent(from source: UnsafeRawPointer, pitch sourcePitch: Int) {
        // SAFETY (source): the split canvas and `frame` are owned by this window and not
        // touched again until the blits below are done; `tinted` is our own buffer.
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
    }

    /// Pushes `windowRects` to the screen.
    private func pushWindowRects() throws(WindowError) {
        let count = Int32(windowRects.count / 4)
        let rc = windowRects.withUnsafeBufferPointer { r in
            message.withUnsafeMutableBufferPointer { csdl_window_update_rects(handle, r.baseAddress, count, $0.baseAddress, $0.count) }
        }
        if rc != 0 { throw .presentFailed(SDLVideo.text(message)) }
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
        let tinted = self.tinted.base
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
}

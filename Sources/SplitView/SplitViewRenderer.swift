import Display

/// Renders the `--show-split` view into `canvas`: on the left the guest screen from `shadow`
/// titled "display: dirty tiles" (tinted by `heat` when given); on the right a panel titled
/// "migration: dirty page list" that draws each slot's pages as a grid of cells (lit = dirty).
/// When a slot has more pages than the panel has cells, each cell stands for several pages
/// and is lit if any of them is. `caption` lines go underneath.
///
/// `canvas` is reallocated only if it is not already `splitViewCanvasSize(...)`; otherwise
/// it is redrawn in place.
public func renderSplitView(shadow: ShadowFramebuffer, heat: DirtyHeatmap?, grid: TileGrid,
                            slots: [PageMapSlot], round: Int, caption: [String],
                            into canvas: inout PixelCanvas) {
    typealias S = SplitViewStyle
    precondition(grid.geometry == shadow.geometry, "tile grid is for \(grid.geometry), shadow is \(shadow.geometry)")
    let g = shadow.geometry
    let size = splitViewCanvasSize(for: g, captionLines: caption.count)
    if canvas.width != size.width || canvas.height != size.height {
        canvas = PixelCanvas(width: size.width, height: size.height, background: S.background)
    }
    canvas.fill(S.background)

    let top = S.margin + S.headerHeight
    let bodyHeight = max(g.height, S.minimumBodyHeight)

    // Left: the screen.
    let screenX = S.margin
    canvas.drawText("display: dirty tiles", x: screenX, y: S.margin, color: S.displayAccent, scale: 2)
    var repainted = 0
    if let heat {
        for t in 0..<grid.count where heat.age(ofTile: t) == 0 { repainted += 1 }
    }
    let tileLine = heat == nil
        ? "\(g.width)x\(g.height), \(grid.count) tiles of \(grid.tile)"
        : "\(repainted) of \(grid.count) tiles of \(grid.tile) repainted this frame (red = now, green = older)"
    canvas.drawText(tileLine, x: screenX, y: S.margin + 24, color: S.dimText)
    canvas.strokeRect(TileRect(x: screenX - 1, y: top - 1, width: g.width + 2, height: g.height + 2), color: S.frame)
    canvas.blit(from: shadow, x: screenX, y: top)
    if let heat { canvas.tint(screenAtX: screenX, y: top, grid: grid, heat: heat) }

    // Right: the migration panel.
    let panelX = screenX + g.width + S.margin * 2
    canvas.fillRect(TileRect(x: panelX - S.margin / 2, y: S.margin / 2, width: S.panelWidth + S.margin,
                             height: S.headerHeight + bodyHeight + S.margin), color: S.panel)
    canvas.drawText("migration: dirty page list", x: panelX, y: S.margin, color: S.migrationAccent, scale: 2)
    canvas.drawText("round \(round)", x: panelX, y: S.margin + 24, color: S.text)
    let legendWidth = 2 * 8 + 16 + PixelCanvas.textWidth(" dirty page") + PixelCanvas.textWidth(" clean page")
    drawLegend(into: &canvas, x: panelX + S.panelWidth - legendWidth, y: S.margin + 24)

    if !slots.isEmpty {
        let slotHeight = bodyHeight / slots.count
        for (index, slot) in slots.enumerated() {
            drawSlot(slot, into: &canvas,
                     area: TileRect(x: panelX, y: top + index * slotHeight, width: S.panelWidth, height: slotHeight - 8))
        }
    }

    // Underneath: the caption.
    var y = top + bodyHeight + S.margin
    for line in caption {
        canvas.drawText(line, x: S.margin, y: y, color: S.text)
        y += S.captionLineHeight
    }
}

/// "[#] dirty page  [ ] clean page".
private func drawLegend(into canvas: inout PixelCanvas, x: Int, y: Int) {
    typealias S = SplitViewStyle
    canvas.fillRect(TileRect(x: x, y: y, width: 8, height: 8), color: S.litCell)
    var penX = canvas.drawText(" dirty page", x: x + 8, y: y, color: S.dimText) + 16
    canvas.fillRect(TileRect(x: penX, y: y, width: 8, height: 8), color: S.cleanCell)
    penX = canvas.drawText(" clean page", x: penX + 8, y: y, color: S.dimText)
}

/// One slot: a label line, then its pages as cells, as large as fit in `area`.
private func drawSlot(_ slot: PageMapSlot, into canvas: inout PixelCanvas, area: TileRect) {
    typealias S = SplitViewStyle
    let labelHeight = 14
    let cellsArea = TileRect(x: area.x, y: area.y + labelHeight, width: area.width,
                             height: max(area.height - labelHeight, 3))
    let pages = max(slot.pageCount, 0)

    // The largest cell pitch at which every page gets its own cell; else the smallest, shared.
    var pitch = 3
    for candidate in [16, 12, 10, 8, 6, 5, 4, 3] {
        if (cellsArea.width / candidate) * (cellsArea.height / candidate) >= pages {
            pitch = candidate
            break
        }
    }
    let columns = max(cellsArea.width / pitch, 1)
    let capacity = max(columns * (cellsArea.height / pitch), 1)
    let pagesPerCell = max((pages + capacity - 1) / capacity, 1)
    let cellSize = pitch - max(1, pitch / 5)

    var litPages = 0
    var cell = 0
    var page = 0
    while page < pages {
        let end = min(page + pagesPerCell, pages)
        var lit = false
        for p in page..<end where slot.isLit(p) {
            lit = true
            litPages += 1
        }
        let rect = TileRect(x: cellsArea.x + (cell % columns) * pitch, y: cellsArea.y + (cell / columns) * pitch,
                            width: cellSize, height: cellSize)
        canvas.fillRect(rect, color: lit ? S.litCell : S.cleanCell)
        cell += 1
        page = end
    }

    let share = pagesPerCell == 1 ? "1 page per cell" : "\(pagesPerCell) pages per cell"
    let penX = canvas.drawText(slot.name, x: area.x, y: area.y, color: S.text)
    canvas.drawText("  \(litPages) of \(pages) pages dirty (\(share))", x: penX, y: area.y, color: S.dimText)
}

/// Merges the dirty tiles of `dirty` into few rectangles, for sinks that update by rectangle
/// (SDL texture updates, VNC). `out` is cleared and refilled, reusing its capacity.
///
/// 1. Each tile row's dirty tiles become horizontal runs.
/// 2. A run whose columns are exactly those of a run in the tile row above extends that
///    rectangle downward (runs of different extent are not merged, so no clean tile is covered).
/// 3. Rectangles are clipped to the framebuffer edges.
///
/// Policy: if more than `maxRects` rectangles remain, `out` becomes their single bounding box
/// instead (more pixels, but one update call; a scattered frame is cheaper repainted whole than
/// as hundreds of small updates). With `maxRects: .max` the result covers exactly the dirty tiles.
public func mergedRectangles(_ dirty: DirtyTileBitmap, grid: TileGrid,
                             into out: inout [TileRect], maxRects: Int = 64) {
    precondition(dirty.count == grid.count, "bitmap covers \(dirty.count) tiles, grid has \(grid.count)")
    out.removeAll(keepingCapacity: true)

    appendRuns(of: dirty, columns: grid.columns, to: &out)
    mergeVertically(&out)
    toClippedPixels(&out, grid: grid)

    if out.count > maxRects {
        var box = out[0]
        for r in out.dropFirst() { box = box.union(r) }
        out.removeAll(keepingCapacity: true)
        out.append(box)
    }
}

/// 1. Horizontal runs, in tile units (x = column, y = tile row, height = 1), sorted by row
///    then column.
private func appendRuns(of dirty: DirtyTileBitmap, columns: Int, to out: inout [TileRect]) {
    var runFirst = -1
    var runEnd = -1
    dirty.forEachSet { t in
        if t == runEnd && t % columns != 0 {
            runEnd += 1
        } else {
            if runFirst >= 0 {
                out.append(TileRect(x: runFirst % columns, y: runFirst / columns, width: runEnd - runFirst, height: 1))
            }
            runFirst = t
            runEnd = t + 1
        }
    }
    if runFirst >= 0 {
        out.append(TileRect(x: runFirst % columns, y: runFirst / columns, width: runEnd - runFirst, height: 1))
    }
}

/// 2. Vertical merge in place: a rectangle lives in the slot of its bottom run; when a run
///    continues it, the run's slot takes over the rectangle and the old slot dies (height 0).
private func mergeVertically(_ out: inout [TileRect]) {
    var prevStart = 0, prevEnd = 0, prevRow = -2
    var i = 0
    while i < out.count {
        let row = out[i].y
        var j = i
        while j < out.count && out[j].y == row { j += 1 }
        if prevRow == row - 1 {
            var p = prevStart
            for c in i..<j {
                while p < prevEnd && out[p].x < out[c].x { p += 1 }
                if p < prevEnd && out[p].x == out[c].x && out[p].width == out[c].width {
                    out[c].y = out[p].y
                    out[c].height = out[p].height + 1
                    out[p].height = 0
                    p += 1
                }
            }
        }
        prevStart = i
        prevEnd = j
        prevRow = row
        i = j
    }
}

/// 3. Drops dead slots and converts tile units to pixels clipped to the framebuffer.
private func toClippedPixels(_ out: inout [TileRect], grid: TileGrid) {
    let g = grid.geometry
    let tw = grid.tile.width, th = grid.tile.height
    var live = 0
    for k in out.indices where out[k].height > 0 {
        let r = out[k]
        let x = r.x * tw, y = r.y * th
        out[live] = TileRect(x: x, y: y, width: min(r.width * tw, g.width - x), height: min(r.height * th, g.height - y))
        live += 1
    }
    out.removeLast(out.count - live)
}

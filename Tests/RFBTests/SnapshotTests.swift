import Display
import Foundation
@testable import RFB
import Testing

@Suite("FrameSnapshotter: one shared, immutable snapshot per refresh")
struct SnapshotTests {
    let geometry = FramebufferGeometry(width: 200, height: 100)
    var grid: TileGrid { TileGrid(geometry: geometry, tile: TileSize(width: 64, height: 16)) }

    func paint(_ pixels: inout [UInt8], _ damage: inout TileDamageLog, grid: TileGrid, x: Int, y: Int, value: UInt8) {
        var dirty = DirtyTileBitmap(count: grid.count)
        for i in 0..<4 { pixels[(y * geometry.width + x) * 4 + i] = value }
        dirty.set(grid.tile(atX: x, y: y))
        damage.record(dirty)
    }

    func pixel(_ s: FrameSnapshot, x: Int, y: Int) -> UInt32 { s.withFrame { $0.pixel(x: x, y: y) } }

    @Test("readers between two refreshes get the same snapshot; a refresh copies only its tiles")
    func sharedAndIncremental() {
        let grid = self.grid
        var pixels = [UInt8](repeating: 7, count: geometry.byteCount)
        var damage = TileDamageLog(count: grid.count)
        let snapshotter = FrameSnapshotter()
        func take() -> FrameSnapshot { pixels.withUnsafeBytes { snapshotter.snapshot(of: FrameView(geometry: geometry, grid: grid, bytes: $0), damage: damage) } }
        let first = take()
        #expect(snapshotter.copiedBytes == 200 * 100 * 4, "the first snapshot copies the whole frame")
        let again = (0..<32).map { _ in take() }
        #expect(again.allSatisfy { $0 === first }, "32 readers, no refresh: one snapshot, nothing copied")
        #expect(snapshotter.copiedBytes == 200 * 100 * 4)
        paint(&pixels, &damage, grid: grid, x: 70, y: 20, value: 0xAB)
        let second = take()
        #expect(second !== first, "a snapshot still held is never written")
        #expect(pixel(first, x: 70, y: 20) == 0x0707_0707)
        #expect(pixel(second, x: 70, y: 20) == 0xABAB_ABAB)
        // `first` is held, so the new one was a fresh frame; now everything old is let go.
        let beforeCopy = snapshotter.copiedBytes
        _ = consume again
        _ = consume first
        _ = consume second
        paint(&pixels, &damage, grid: grid, x: 150, y: 90, value: 0xCD)
        let third = take()
        #expect(snapshotter.copiedBytes - beforeCopy == 64 * 16 * 4,
                "a free snapshot is brought up to date with the repainted tiles only")
        #expect(pixel(third, x: 70, y: 20) == 0xABAB_ABAB && pixel(third, x: 150, y: 90) == 0xCDCD_CDCD)
        third.withFrame { f in
            pixels.withUnsafeBytes { p in #expect(memcmp(f.bytes.baseAddress!, p.baseAddress!, geometry.byteCount) == 0) }
        }
    }

    @Test("a long run of refreshes with readers letting go reuses a bounded pool")
    func bounded() {
        let grid = self.grid
        var pixels = [UInt8](repeating: 0, count: geometry.byteCount)
        var damage = TileDamageLog(count: grid.count)
        let snapshotter = FrameSnapshotter()
        var held: [FrameSnapshot] = []
        for i in 0..<200 {
            paint(&pixels, &damage, grid: grid, x: (i * 37) % 200, y: (i * 13) % 100, value: UInt8(i & 0xFF))
            let s = pixels.withUnsafeBytes { snapshotter.snapshot(of: FrameView(geometry: geometry, grid: grid, bytes: $0), damage: damage) }
            s.withFrame { f in pixels.withUnsafeBytes { p in #expect(memcmp(f.bytes.baseAddress!, p.baseAddress!, geometry.byteCount) == 0) } }
            held.append(s)
            if held.count > 2 { held.removeFirst() } // a slow reader keeps the last two
        }
        #expect(snapshotter.allocated <= 5, "allocated \(snapshotter.allocated) frames for 200 refreshes")
        #expect(snapshotter.pooled <= 5)
    }
}

import Foundation
import Testing
import Display

/// A guest framebuffer stand-in: `geometry.byteCount` bytes the tests fill with patterns.
final class FakeGuestFramebuffer {
    let geometry: FramebufferGeometry
    var bytes: [UInt8]

    init(_ geometry: FramebufferGeometry) {
        self.geometry = geometry
        bytes = [UInt8](repeating: 0xEE, count: geometry.byteCount)  // padding is 0xEE
    }

    func setPixel(x: Int, y: Int, _ value: UInt32) {
        let offset = y * geometry.pitch + x * 4
        for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
    }

    func fill(_ pattern: (Int, Int) -> UInt32) {
        for y in 0..<geometry.height { for x in 0..<geometry.width { setPixel(x: x, y: y, pattern(x, y)) } }
    }

    func withPointer<R>(_ body: (UnsafeRawPointer) -> R) -> R {
        bytes.withUnsafeBytes { body($0.baseAddress!) }
    }
}

@Suite("ShadowFramebuffer")
struct ShadowFramebufferTests {
    let geometry = FramebufferGeometry(width: 100, height: 37, pitch: 100 * 4 + 48)
    let grid: TileGrid
    init() { grid = TileGrid(geometry: geometry, tile: TileSize(width: 32, height: 16)) }

    static func old(_ x: Int, _ y: Int) -> UInt32 { UInt32(x << 12 | y) }
    static func new(_ x: Int, _ y: Int) -> UInt32 { 0x00FF_0000 | UInt32(x << 8 | y) }

    @Test("copyTiles copies exactly the dirty tiles; the others keep their old content")
    func copyTilesCopiesOnlyDirtyTiles() {
        let guest = FakeGuestFramebuffer(geometry)
        guest.fill(Self.old)
        let shadow = ShadowFramebuffer(geometry: geometry)
        guest.withPointer { shadow.copyAll(from: $0) }
        #expect(guest.withPointer { shadow.equals(source: $0) })

        guest.fill(Self.new)
        var dirty = DirtyTileBitmap(count: grid.count)
        let chosen = [1, 2, 3, 8, grid.count - 1]  // a run to the right edge, a lone tile, the corner
        for t in chosen { dirty.set(t) }
        let copied = guest.withPointer { shadow.copyTiles(dirty, grid: grid, from: $0) }

        #expect(copied == chosen.map { grid.rect(ofTile: $0).area * 4 }.reduce(0, +))
        for y in 0..<geometry.height {
            for x in 0..<geometry.width {
                let expected = chosen.contains(grid.tile(atX: x, y: y)) ? Self.new(x, y) : Self.old(x, y)
                #expect(shadow.pixel(x: x, y: y) == expected, "pixel (\(x), \(y))")
            }
        }
    }

    @Test("copyPages copies exactly the pages whose bits are set, clipped to the frame")
    func copyPagesCopiesExactlyTheSetPages() {
        // 448-byte pitch x 37 rows = 16576 bytes: pages of 1024 bytes, the last one partial.
        let pageSize = 1024
        let guest = FakeGuestFramebuffer(geometry)
        guest.fill(Self.new)
        let shadow = ShadowFramebuffer(geometry: geometry)
        var bits = [UInt64](repeating: 0, count: 1)
        for page in [0, 2, 3, 16] { bits[0] |= 1 << UInt64(page) } // 16 is the partial last page
        let copied = guest.withPointer { src in bits.withUnsafeBufferPointer { shadow.copyPages($0, pageSize: pageSize, from: src) } }
        #expect(copied == 3 * pageSize + (geometry.byteCount - 16 * pageSize))
        shadow.withUnsafeBytes { mine in
            for offset in stride(from: 0, to: geometry.byteCount, by: 97) {
                let page = offset / pageSize
                let expected: UInt8 = [0, 2, 3, 16].contains(page) ? guest.bytes[offset] : 0
                #expect(mine[offset] == expected, "byte \(offset) of page \(page)")
            }
        }
    }

    @Test("the tile copy never writes the pitch padding")
    func paddingUntouched() {
        let guest = FakeGuestFramebuffer(geometry)
        guest.fill(Self.new)
        let shadow = ShadowFramebuffer(geometry: geometry)
        var dirty = DirtyTileBitmap(count: grid.count)
        dirty.setAll()
        guest.withPointer { _ = shadow.copyTiles(dirty, grid: grid, from: $0) }
        shadow.withUnsafeBytes { bytes in
            for y in 0..<geometry.height {
                for offset in (y * geometry.pitch + geometry.rowBytes)..<((y + 1) * geometry.pitch) {
                    #expect(bytes[offset] == 0, "padding byte \(offset)")
                }
            }
        }
        #expect(guest.withPointer { shadow.equals(source: $0) })
    }

    @Test("compare mode finds exactly the changed tiles and leaves the shadow equal to the source")
    func compareModeFindsChangedTiles() {
        let guest = FakeGuestFramebuffer(geometry)
        guest.fill(Self.old)
        let shadow = ShadowFramebuffer(geometry: geometry)
        guest.withPointer { shadow.copyAll(from: $0) }

        // Change one pixel in tile 0 (its last row), two in tile 5, and the bottom-right pixel.
        guest.setPixel(x: 31, y: 15, 1)
        guest.setPixel(x: 40, y: 17, 2)
        guest.setPixel(x: 63, y: 31, 3)
        guest.setPixel(x: 99, y: 36, 4)
        var dirty = DirtyTileBitmap(count: grid.count)
        let copied = guest.withPointer { shadow.copyChangedTiles(grid: grid, from: $0, markingInto: &dirty) }

        var found: [Int] = []
        dirty.forEachSet { found.append($0) }
        #expect(found == [0, 5, grid.count - 1])
        #expect(guest.withPointer { shadow.equals(source: $0) })
        // Each tile is copied from its first changed row down: tile 0 from row 15 (1 row of
        // 32 px), tile 5 from row 17 (15 rows of 32 px), the 4x5 corner tile from row 36 (1 row of 4 px).
        #expect(copied == 32 * 4 * 1 + 32 * 4 * 15 + 4 * 4 * 1)

        var again = DirtyTileBitmap(count: grid.count)
        #expect(guest.withPointer { shadow.copyChangedTiles(grid: grid, from: $0, markingInto: &again) } == 0)
        #expect(again.isEmpty)
    }

    @Test("firstDifference names the first differing pixel and ignores padding")
    func firstDifference() {
        let guest = FakeGuestFramebuffer(geometry)
        let shadow = ShadowFramebuffer(geometry: geometry)
        guest.fill { _, _ in 0 }
        #expect(guest.withPointer { shadow.firstDifference(source: $0) } == nil)  // padding differs (0xEE)
        guest.setPixel(x: 7, y: 20, 0x123456)
        guest.setPixel(x: 9, y: 30, 0x123456)
        let difference = guest.withPointer { shadow.firstDifference(source: $0) }
        #expect(difference?.x == 7 && difference?.y == 20)
    }

    @Test("a shadow of 2 MiB or more (huge-page storage) starts zeroed, and copyPages of random page sets stays exact")
    func largeShadowCopyPagesIsExact() {
        // 1920x1080 with 64 bytes of padding per row: 8.36 MB, 2041 pages, the last one partial.
        let big = FramebufferGeometry(width: 1920, height: 1080, pitch: 1920 * 4 + 64)
        let pageSize = 4096
        let pageCount = (big.byteCount + pageSize - 1) / pageSize
        let guest = FakeGuestFramebuffer(big)
        let shadow = ShadowFramebuffer(geometry: big)
        #if os(Linux)
        #expect(shadow.hugePageAdvised)
        #expect(!ShadowFramebuffer(geometry: geometry).hugePageAdvised) // small: heap memory
        #endif
        // memcmp and copyMemory rather than element loops: this test runs in debug builds.
        let zeros = [UInt8](repeating: 0, count: big.byteCount)
        shadow.withUnsafeBytes { mine in zeros.withUnsafeBytes { #expect(memcmp(mine.baseAddress!, $0.baseAddress!, big.byteCount) == 0) } }
        // The reference: what the shadow must hold, byte for byte (padding included: a page
        // copy takes the whole page, the pitch padding with it).
        var expected = [UInt8](repeating: 0, count: big.byteCount)
        var rng = SystemRandomNumberGenerator()
        for round in 0..<6 {
            // New guest content in random places, then a random set of pages copied: always
            // the first and the partial last page in some rounds, runs of neighbours in others.
            for _ in 0..<2000 {
                guest.bytes[Int.random(in: 0..<big.byteCount, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            var bits = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
            var chosen = Set<Int>()
            for _ in 0..<Int.random(in: 1...200, using: &rng) {
                let start = Int.random(in: 0..<pageCount, using: &rng)
                for p in start..<min(pageCount, start + Int.random(in: 1...70, using: &rng)) { chosen.insert(p) }
            }
            if round % 2 == 0 { chosen.insert(0); chosen.insert(pageCount - 1) }
            for p in chosen { bits[p >> 6] |= 1 << UInt64(p & 63) }
            let copied = guest.withPointer { src in bits.withUnsafeBufferPointer { shadow.copyPages($0, pageSize: pageSize, from: src) } }
            var bytes = 0
            for p in chosen {
                let range = (p * pageSize)..<min((p + 1) * pageSize, big.byteCount)
                expected.withUnsafeMutableBytes { e in guest.bytes.withUnsafeBytes { g in
                    (e.baseAddress! + range.lowerBound).copyMemory(from: g.baseAddress! + range.lowerBound, byteCount: range.count)
                } }
                bytes += range.count
            }
            #expect(copied == bytes)
            let same = shadow.withUnsafeBytes { mine in expected.withUnsafeBytes { memcmp(mine.baseAddress!, $0.baseAddress!, big.byteCount) == 0 } }
            #expect(same, "round \(round): the shadow differs from the pages copied")
        }
        // Every page copied: equal to the guest everywhere.
        let all = [UInt64](repeating: ~0, count: (pageCount + 63) / 64)
        _ = guest.withPointer { src in all.withUnsafeBufferPointer { shadow.copyPages($0, pageSize: pageSize, from: src) } }
        #expect(shadow.withUnsafeBytes { mine in guest.bytes.withUnsafeBytes { memcmp(mine.baseAddress!, $0.baseAddress!, big.byteCount) == 0 } })
    }
}

import Testing
import Display

@Suite("DirtyTileBitmap")
struct DirtyTileBitmapTests {
    @Test("set tiles are reported once each, ascending, across word boundaries")
    func forEachSetAscending() {
        var bitmap = DirtyTileBitmap(count: 200)
        for i in [129, 0, 64, 63, 199, 64] { bitmap.set(i) }
        var seen: [Int] = []
        bitmap.forEachSet { seen.append($0) }
        #expect(seen == [0, 63, 64, 129, 199])
        #expect(bitmap.popCount == 5)
        #expect(bitmap.contains(63) && !bitmap.contains(62) && !bitmap.contains(128))
    }

    @Test("setAll marks exactly count tiles and clearAll none")
    func setAllAndClearAll() {
        var bitmap = DirtyTileBitmap(count: 130)
        #expect(bitmap.isEmpty)
        bitmap.setAll()
        #expect(bitmap.popCount == 130)
        var last = -1
        bitmap.forEachSet { last = $0 }
        #expect(last == 129)
        bitmap.clearAll()
        #expect(bitmap.isEmpty && bitmap.popCount == 0)
    }

    @Test("clearing one tile leaves the others")
    func clearOne() {
        var bitmap = DirtyTileBitmap(count: 10)
        bitmap.set(3)
        bitmap.set(4)
        bitmap.clear(3)
        #expect(!bitmap.contains(3) && bitmap.contains(4))
    }

    @Test("a union holds the tiles of both bitmaps")
    func union() {
        var a = DirtyTileBitmap(count: 100)
        var b = DirtyTileBitmap(count: 100)
        a.set(1)
        a.set(70)
        b.set(70)
        b.set(99)
        a.formUnion(b)
        var seen: [Int] = []
        a.forEachSet { seen.append($0) }
        #expect(seen == [1, 70, 99])
    }
}

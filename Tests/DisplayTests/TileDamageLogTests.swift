import Display
import Testing
import TestSupport

@Suite("TileDamageLog")
struct TileDamageLogTests {
    func bitmap(_ count: Int, _ tiles: [Int]) -> DirtyTileBitmap {
        var b = DirtyTileBitmap(count: count)
        for t in tiles { b.set(t) }
        return b
    }

    @Test("a new sink sees every tile once, then only what was recorded after its read")
    func newSinkSeesEverything() {
        var log = TileDamageLog(count: 130)
        var cursor = log.newCursor()
        var out = DirtyTileBitmap(count: 130)
        log.changes(since: &cursor, into: &out)
        #expect(out.popCount == 130)
        log.changes(since: &cursor, into: &out)
        #expect(out.isEmpty)
        #expect(!log.hasChanges(since: cursor))
        log.record(bitmap(130, [3, 64, 129]))
        #expect(log.hasChanges(since: cursor))
        log.changes(since: &cursor, into: &out)
        var seen: [Int] = []
        out.forEachSet { seen.append($0) }
        #expect(seen == [3, 64, 129])
    }

    @Test("sinks reading at different rates each get the union of everything since their own last read")
    func sinksAtDifferentRates() {
        var log = TileDamageLog(count: 300)
        var cursors = (0..<4).map { _ in log.newCursor() }
        var outs = (0..<4).map { _ in DirtyTileBitmap(count: 300) }
        for i in cursors.indices { log.changes(since: &cursors[i], into: &outs[i]) }
        let rates = [1, 3, 10, 0] // 0: never reads again
        var expected = (0..<4).map { _ in DirtyTileBitmap(count: 300) }
        var rng = SplitMix(state: 42)
        for step in 1...200 {
            let tiles = (0..<Int(rng.next() % 12)).map { _ in Int(rng.next() % 300) }
            let dirty = bitmap(300, tiles)
            log.record(dirty)
            for i in 0..<4 {
                expected[i].formUnion(dirty)
                guard rates[i] > 0, step % rates[i] == 0 else { continue }
                log.changes(since: &cursors[i], into: &outs[i])
                #expect(outs[i] == expected[i], "sink \(i) at step \(step)")
                expected[i].clearAll()
            }
        }
    }

    @Test("an empty refresh records nothing, and a cursor from another log sees every tile")
    func emptyRecordAndForeignCursor() {
        var log = TileDamageLog(count: 64)
        var cursor = log.newCursor()
        var out = DirtyTileBitmap(count: 64)
        log.changes(since: &cursor, into: &out)
        let generation = log.generation
        log.record(DirtyTileBitmap(count: 64))
        #expect(log.generation == generation)
        #expect(!log.hasChanges(since: cursor))
        let other = TileDamageLog(count: 64)
        var foreign = other.newCursor()
        other.changes(since: &foreign, into: &out) // brought up to date in the other log
        log.changes(since: &foreign, into: &out)
        #expect(out.popCount == 64, "a cursor of another geometry's log means nothing here")
    }
}

import Display
import Foundation
@testable import RFB
import TestSupport
import Testing

/// The server surface without sockets: a `MemorySource` painted by hand, refreshed, and
/// clients taking their dirty bits.
@Suite("server surface: one copy of the frame, dirty bits per client")
struct SurfaceTests {
    let all = RFBRect(x: 0, y: 0, width: 203, height: 117)

    /// A source, its surface after a first refresh, and a client that has taken the whole screen.
    func start(width: Int = 203, height: Int = 117) -> (MemorySource, ServerSurface, ServerSurface.Client) {
        let source = MemorySource(width: width, height: height)
        let surface = ServerSurface(source: source)
        let client = surface.join(told: source.geometry)
        surface.refresh()
        _ = surface.take(client, region: RFBRect(x: 0, y: 0, width: width, height: height), full: true, rowSpans: false)
        return (source, surface, client)
    }

    func covered(_ x: Int, _ y: Int, by rects: [RFBRect]) -> Bool {
        rects.contains { x >= $0.x && x < $0.maxX && y >= $0.y && y < $0.maxY }
    }

    @Test("a changed cursor-sized block comes back as that block, not the band of tiles the log marked")
    func cursorSized() throws {
        let (source, surface, client) = start()
        let cursor = RFBRect(x: 100, y: 30, width: 12, height: 19)
        source.paint(cursor, 0x00FF_0000)
        var band = DirtyTileBitmap(count: source.grid.count)
        for t in 0..<source.grid.count where (16..<64).contains(source.grid.rect(ofTile: t).y) { band.set(t) }
        source.markRepainted(band)
        #expect(surface.refresh())
        let take = try #require(surface.take(client, region: all, full: false, rowSpans: false))
        #expect(take.rects == [cursor])
        #expect(surface.take(client, region: all, full: false, rowSpans: false)?.rects == [], "nothing changed since")
        // Repainting the same colour marks tiles but changes no pixel: nobody is owed anything.
        source.paint(cursor, 0x00FF_0000)
        #expect(!surface.refresh())
        #expect(!surface.isOwed(client))
    }

    @Test("with the last client gone the surface stops reading the display; the next client gets the whole current frame from a new reader")
    func releasedWithoutClients() throws {
        let (source, surface, client) = start()
        #expect(source.readersMade.load(ordering: .relaxed) == 1)
        #expect(!surface.releaseIfUnused(), "a client is still there")
        surface.leave(client)
        #expect(surface.releaseIfUnused())
        #expect(surface.latest == nil, "no stale frame waits for the next client")
        source.paint(RFBRect(x: 20, y: 20, width: 10, height: 10), 0x0000_FF00) // while nobody reads
        let next = surface.join(told: source.geometry)
        #expect(surface.refresh())
        #expect(source.readersMade.load(ordering: .relaxed) == 2, "a new reader, whose first read is every tile")
        let take = try #require(surface.take(next, region: all, full: false, rowSpans: false))
        #expect(take.rects == [all], "the whole screen is owed to the new client")
        #expect(take.frame.withFrame { $0.pixel(x: 25, y: 25) } == 0x0000_FF00, "painted while nobody read, and there now")
    }

    @Test("a triangle (a pointer's arrow) goes out as its row spans for Raw, under its bounding box, and all of it")
    func sparseShapeAsSpans() throws {
        let (source, surface, client) = start()
        var changed = 0
        for row in 0..<14 {
            source.paint(RFBRect(x: 70, y: 33 + row, width: row + 1, height: 1), 0x0000_00FF)
            changed += row + 1
        }
        surface.refresh()
        let rects = try #require(surface.take(client, region: all, full: false, rowSpans: true)).rects
        #expect(rects.count > 1)
        #expect(rects.reduce(0) { $0 + $1.width * $1.height } == changed, "the spans cover the triangle's \(changed) pixels, its bounding box 196")
        for row in 0..<14 { for x in 70...(70 + row) { #expect(covered(x, 33 + row, by: rects)) } }
    }

    @Test("rectangles never pass the frame's edge or the request, and cover every owed pixel inside the request", arguments: 0..<20)
    func edges(seed: UInt64) throws {
        var rng = SplitMix(state: seed)
        let source = MemorySource(width: 203, height: 117)
        let frame = testFrame(width: 203, height: 117, seed: seed)
        source.paint(all) { x, y in
            let o = (y * 203 + x) * 4
            return UInt32(frame[o + 2]) << 16 | UInt32(frame[o + 1]) << 8 | UInt32(frame[o])
        }
        let surface = ServerSurface(source: source)
        let client = surface.join(told: source.geometry)
        surface.refresh()
        let request = RFBRect(x: Int(rng.next() % 250), y: Int(rng.next() % 150), width: Int(rng.next() % 400), height: Int(rng.next() % 300))
        let rects = try #require(surface.take(client, region: request, full: rng.next() % 2 == 0, rowSpans: rng.next() % 2 == 0)).rects
        #expect(rects.allSatisfy { $0.x >= 0 && $0.y >= 0 && $0.maxX <= 203 && $0.maxY <= 117 && !$0.isEmpty })
        #expect(rects.allSatisfy { $0.intersection(request) == $0 })
        let visible = request.intersection(all)
        var missed = 0
        for y in visible.y..<max(visible.y, visible.maxY) { for x in visible.x..<max(visible.x, visible.maxX) where !covered(x, y, by: rects) { missed += 1 } }
        #expect(missed == 0, "a new client is owed every pixel of its request")
        // What lies outside the request is still owed.
        #expect(surface.isOwed(client) == (visible != all))
    }

    @Test("clients between two refreshes share one frame; a refresh copies only its tiles; a frame a client holds is never written")
    func sharedAndIncremental() throws {
        let (source, surface, _) = start()
        let clients = (0..<32).map { _ in surface.join(told: source.geometry) }
        let takes = clients.map { surface.take($0, region: all, full: false, rowSpans: false)! }
        #expect(takes.allSatisfy { $0.frame === takes[0].frame && $0.rects == [all] }, "32 clients, no refresh: one frame, the whole screen each")
        let held = takes[0].frame
        let copied = surface.statistics.bytesCopiedUnderLock
        source.paint(RFBRect(x: 70, y: 20, width: 1, height: 1), 0x00AB_CDEF)
        surface.refresh()
        #expect(surface.statistics.bytesCopiedUnderLock - copied == 64 * 16 * 4, "one repainted tile copied under the lock, once for all")
        #expect(held.withFrame { $0.pixel(x: 70, y: 20) } == 0, "the frame a client holds is unchanged")
        #expect(surface.latest!.withFrame { $0.pixel(x: 70, y: 20) } == 0x00AB_CDEF)
        for c in clients { #expect(surface.take(c, region: all, full: false, rowSpans: false)?.rects == [RFBRect(x: 70, y: 20, width: 1, height: 1)]) }
    }

    @Test("the surface always equals the display, over many refreshes, with a slow client holding old frames; frames stay few")
    func exactAndBounded() throws {
        let (source, surface, client) = start()
        var held: [FrameSnapshot] = []
        for i in 0..<200 {
            source.paint(RFBRect(x: (i * 37) % 190, y: (i * 13) % 100, width: 1 + i % 13, height: 1 + i % 17), UInt32(i * 0x010203) & 0xFF_FFFF)
            surface.refresh()
            let frame = try #require(surface.latest)
            var wrong = 0
            frame.withFrame { f in for y in 0..<117 { for x in 0..<203 where f.pixel(x: x, y: y) != source.pixel(x: x, y: y) { wrong += 1 } } }
            #expect(wrong == 0, "refresh \(i): \(wrong) pixels differ from the display")
            if i % 3 == 0, let t = surface.take(client, region: all, full: false, rowSpans: false) { held.append(t.frame) }
            if held.count > 2 { held.removeFirst() } // a slow client keeps two frames
        }
        #expect(surface.statistics.framesAllocated <= 6, "allocated \(surface.statistics.framesAllocated) frames for 200 refreshes")
    }

    @Test("a client that joins late is owed the whole screen")
    func lateClient() throws {
        let (source, surface, first) = start()
        for i in 0..<5 {
            source.paint(RFBRect(x: i * 10, y: i * 5, width: 8, height: 8), 0x0012_3456 + UInt32(i))
            surface.refresh()
            _ = surface.take(first, region: all, full: false, rowSpans: false)
        }
        let late = surface.join(told: source.geometry)
        #expect(surface.take(late, region: all, full: false, rowSpans: false)?.rects == [all])
        #expect(surface.take(first, region: all, full: false, rowSpans: false)?.rects == [], "the first client is up to date")
    }

    @Test("a slow client's dirty bits gather every refresh it missed; it then gets their union, the fast one only the latest")
    func slowClientGetsTheUnion() throws {
        let (source, surface, fast) = start()
        let slow = surface.join(told: source.geometry)
        _ = surface.take(slow, region: all, full: true, rowSpans: false)
        let areas = [RFBRect(x: 3, y: 2, width: 5, height: 4), RFBRect(x: 150, y: 90, width: 20, height: 10), RFBRect(x: 70, y: 40, width: 2, height: 2)]
        var latest: [RFBRect] = []
        for a in areas {
            source.paint(a, 0x00FF_00FF)
            surface.refresh()
            latest = try #require(surface.take(fast, region: all, full: false, rowSpans: false)).rects
        }
        #expect(latest == [areas[2]])
        let union = try #require(surface.take(slow, region: all, full: false, rowSpans: false)).rects
        for a in areas { for y in a.y..<a.maxY { for x in a.x..<a.maxX { #expect(covered(x, y, by: union)) } } }
        #expect(union.reduce(0) { $0 + $1.width * $1.height } == areas.reduce(0) { $0 + $1.width * $1.height })
    }

    @Test("memory per client is its dirty bits: 1 or 32 clients, the same frames allocated and compares made; damage 1/32 of a frame")
    func memoryPerClient() throws {
        var stats: [Int: SurfaceStatistics] = [:]
        for n in [1, 32] {
            let source = MemorySource(width: 1280, height: 800)
            let surface = ServerSurface(source: source)
            let clients = (0..<n).map { _ in surface.join(told: source.geometry) }
            let screen = RFBRect(x: 0, y: 0, width: 1280, height: 800)
            for i in 0..<40 {
                source.paint(RFBRect(x: (i * 97) % 1200, y: (i * 53) % 700, width: 80, height: 60), UInt32(i + 1))
                surface.refresh()
                // Half the clients read every refresh, the others every fifth.
                for (k, c) in clients.enumerated() where k % 2 == 0 || i % 5 == 0 { _ = surface.take(c, region: screen, full: false, rowSpans: false) }
            }
            stats[n] = surface.statistics
        }
        #expect(stats[32]!.framesAllocated == stats[1]!.framesAllocated && stats[1]!.framesAllocated <= 3)
        #expect(stats[32]!.bytesCompared == stats[1]!.bytesCompared, "the compare runs once per refresh, whatever the clients")
        #expect(stats[32]!.bytesCopiedUnderLock == stats[1]!.bytesCopiedUnderLock)
        #expect(stats[32]!.wholeFrameCopies == 1, "once a client let go of its frame, a refresh brings the previous frame forward by the changes only")
        let damage = SurfaceDamage(width: 1280, height: 800)
        #expect(damage.byteCount * 32 <= 1280 * 800 * 4, "\(damage.byteCount) bytes of dirty bits per client")
    }
}

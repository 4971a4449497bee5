import Foundation
import Synchronization
@testable import RFB
import Testing

/// The server's answers to SetDesktopSize with a resizer of the test's own over a real
/// socket (no guest): an answer that comes, a request the display already meets, a refusal,
/// and a guest that never sets the mode (the timeout's status 2).
@Suite("ExtendedDesktopSize over a socket", .serialized)
struct DesktopSizeServerTests {
    /// Answers every request the same way and counts them.
    final class FixedResizer: DesktopResizer {
        let answer: DesktopResizeAnswer
        let asked = Atomic<Int>(0)
        init(_ answer: DesktopResizeAnswer) { self.answer = answer }
        func requestDesktopSize(width: Int, height: Int) -> DesktopResizeAnswer {
            asked.add(1, ordering: .relaxed)
            return answer
        }
    }

    final class Lines: Sendable {
        let all = Mutex<[String]>([])
        func add(_ s: String) { all.withLock { $0.append(s) } }
        var text: String { all.withLock { $0.joined(separator: "\n") } }
    }

    /// One ExtendedDesktopSize update (and nothing else in it): reason, status, size, layout bytes.
    func desktopSize(_ s: Socket) -> (reason: Int, status: Int, width: Int, height: Int, layout: [UInt8])? {
        guard let h = s.read(4), h == [0, 0, 0, 1], let r = s.read(12), r[8...11] == [0xFF, 0xFF, 0xFE, 0xCC],
              let head = s.read(4), let screens = s.read(16 * Int(head[0])) else { return nil }
        func be(_ i: Int) -> Int { Int(r[i]) << 8 | Int(r[i + 1]) }
        return (be(0), be(2), be(4), be(6), head + screens)
    }

    func setDesktopSize(_ w: Int, _ h: Int, id: UInt8) -> [UInt8] {
        [251, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF), 1, 0,
         0, 0, 0, id, 0, 0, 0, 0, UInt8(w >> 8), UInt8(w & 0xFF), UInt8(h >> 8), UInt8(h & 0xFF), 0, 0, 0, 0]
    }

    @Test("answers: unchanged is success with the client's layout; refused carries its status; a guest that sets no mode gets status 2 after the timeout")
    func answers() throws {
        let cases: [(DesktopResizeAnswer, status: Int, line: String)] = [
            (.unchanged, 0, ""),
            (.refused(.prohibited, "the guest does not follow"), 1, "refused (status 1): the guest does not follow"),
            (.asked, 2, "refused (status 2): the guest set no 300x200 mode within 0.3 s"),
        ]
        for (answer, status, line) in cases {
            let source = MemorySource(width: 300, height: 200)
            let resizer = FixedResizer(answer)
            let lines = Lines()
            var o = RFBServerOptions()
            o.port = 0
            o.desktopResizer = resizer
            o.desktopResizeTimeout = 0.3
            let server = try RFBServer(source: source, options: o, input: nil, log: { lines.add($0) })
            defer { server.stop() }
            let s = try Socket(port: server.port)
            _ = s.read(12)
            s.send(Array("RFB 003.008\n".utf8) + [1, 1])
            _ = s.read(2 + 4 + 24 + 4)
            s.send([2, 0, 0, 2, 0, 0, 0, 0, 0xFF, 0xFF, 0xFE, 0xCC]) // Raw, ExtendedDesktopSize
            s.send([3, 0, 0, 0, 0, 0, 1, 44, 0, 200])
            let first = desktopSize(s)
            #expect(first?.reason == 0 && first?.status == 0 && first?.width == 300 && first?.height == 200, "the layout first")
            #expect(s.update() == [RFBRect(x: 0, y: 0, width: 300, height: 200)], "then the pixels the request asked for")
            // The same size as now, so that .unchanged is the truth; the answer does not depend on it.
            s.send(setDesktopSize(300, 200, id: 7))
            let reply = desktopSize(s)
            #expect(reply?.reason == 1 && reply?.status == status && reply?.width == 300 && reply?.height == 200, "\(answer)")
            if status == 0 { #expect(reply?.layout == [1, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 1, 44, 0, 200, 0, 0, 0, 0], "its own layout") }
            #expect(resizer.asked.load(ordering: .relaxed) == 1)
            #expect(line.isEmpty || lines.text.contains(line), "\(lines.text)")
        }
    }

    @Test("a second SetDesktopSize while the first waits: the first is answered (status 2, replaced), then the second")
    func replaced() throws {
        let lines = Lines()
        var o = RFBServerOptions()
        o.port = 0
        o.desktopResizer = FixedResizer(.asked)
        o.desktopResizeTimeout = 0.3
        let server = try RFBServer(source: MemorySource(width: 300, height: 200), options: o, input: nil, log: { lines.add($0) })
        defer { server.stop() }
        let s = try Socket(port: server.port)
        _ = s.read(12)
        s.send(Array("RFB 003.008\n".utf8) + [1, 1])
        _ = s.read(2 + 4 + 24 + 4)
        s.send([2, 0, 0, 2, 0, 0, 0, 0, 0xFF, 0xFF, 0xFE, 0xCC])
        s.send(setDesktopSize(400, 300, id: 1) + setDesktopSize(500, 300, id: 1))
        let first = desktopSize(s), second = desktopSize(s)
        #expect(first?.reason == 1 && first?.status == 2 && second?.reason == 1 && second?.status == 2)
        #expect(lines.text.contains("SetDesktopSize 400x300 refused (status 2): a newer SetDesktopSize from the client replaced it"), "\(lines.text)")
        #expect(lines.text.contains("SetDesktopSize 500x300 refused (status 2): the guest set no 500x300 mode"), "\(lines.text)")
    }

    @Test("an invalid layout is answered with status 3 without asking the display; a client without -308 is told nothing")
    func invalid() throws {
        let source = MemorySource(width: 300, height: 200)
        let resizer = FixedResizer(.unchanged)
        var o = RFBServerOptions()
        o.port = 0
        o.desktopResizer = resizer
        let server = try RFBServer(source: source, options: o, input: nil, log: { _ in })
        defer { server.stop() }
        let s = try Socket(port: server.port)
        _ = s.read(12)
        s.send(Array("RFB 003.008\n".utf8) + [1, 1])
        _ = s.read(2 + 4 + 24 + 4)
        s.send([2, 0, 0, 2, 0, 0, 0, 0, 0xFF, 0xFF, 0xFE, 0xCC])
        s.send(Array(setDesktopSize(300, 200, id: 1).prefix(6)) + [0, 0]) // no screen
        let reply = desktopSize(s)
        #expect(reply?.reason == 1 && reply?.status == 3)
        #expect(resizer.asked.load(ordering: .relaxed) == 0)
        // Without -308 (Raw only): a SetDesktopSize gets no rectangle; the next update is pixels.
        s.send([2, 0, 0, 1, 0, 0, 0, 0])
        s.send(setDesktopSize(300, 200, id: 1))
        s.send([3, 0, 0, 0, 0, 0, 1, 44, 0, 200])
        #expect(s.update() == [RFBRect(x: 0, y: 0, width: 300, height: 200)])
    }
}

@testable import Input
import Testing
import TestSupport

/// Long randomized runs of the parser: random valid scripts read back to their events, and
/// random byte mutations of scripts never trap and are either read or refused with a line.
@Suite("--input-script fuzz")
struct InputScriptFuzzTests {

    static func randomEvent(_ rng: inout SplitMix) -> InputEvent {
        switch rng.next() % 6 {
        case 0: return .key(code: UInt16(rng.int(1...767)), down: rng.next() & 1 == 0)
        case 5: return .keyRepeat(code: UInt16(rng.int(1...767)))
        case 1: return .pointer(x: Int32(rng.int(InputScript.pointerX)), y: Int32(rng.int(InputScript.pointerY)))
        case 2: return .button(PointerButton.allCases[rng.int(0...2)], down: rng.next() & 1 == 0)
        case 3: return .wheel(vertical: Int32(rng.int(InputScript.wheelClicks)), horizontal: Int32(rng.int(-3...3)))
        default: return .displaySize(width: Int32(rng.int(InputScript.displayWidth)), height: Int32(rng.int(InputScript.displayHeight)))
        }
    }

    @Test("5,000 random scripts read back to exactly their events")
    func roundTrip() throws {
        var rng = SplitMix(state: 9)
        for _ in 0..<5_000 {
            var frame = rng.int(0...5)
            var events: [(Int, InputEvent)] = []
            for _ in 0..<rng.int(0...12) {
                frame += rng.int(0...3) == 0 ? 0 : rng.int(1...1000)
                frame = min(frame, InputScript.maxFrame)
                events.append((frame, Self.randomEvent(&rng)))
            }
            // Decorate: comments, blank lines, tabs, CRLF.
            var text = ""
            for (f, e) in events {
                if rng.next() % 4 == 0 { text += rng.next() & 1 == 0 ? "\n" : "  # note\n" }
                var line = "\(f) \(e.scriptText)"
                if rng.next() % 3 == 0 { line = line.replacingOccurrences(of: " ", with: "\t") }
                if rng.next() % 3 == 0 { line += "   # trailing" }
                text += line + (rng.next() % 5 == 0 ? "\r\n" : "\n")
            }
            let parsed = try InputScript(parsing: Array(text.utf8), name: "r")
            #expect(parsed.entries.map(\.frame) == events.map(\.0))
            #expect(parsed.entries.map(\.event) == events.map(\.1))
            #expect(try InputScript(parsing: Array(parsed.text.utf8), name: "r2").entries.map(\.event) == events.map(\.1))
        }
    }

    @Test("100,000 mutated scripts never trap; each is read or refused naming a line that exists")
    func mutations() {
        let seeds = [
            "120 key down KEY_A\n121 key up KEY_A\n130 pointer 400 300\n131 button down left\n132 wheel -1 2\n",
            "# comment\n\n5 type Hello, world!\\n\n6 display-size 1920 1080\n7 key down 183 # x\n",
            "0 pointer 0 0\n0 button down middle\n1000000000 button up middle\r\n",
        ].map { Array($0.utf8) }
        var rng = SplitMix(state: 2026)
        var read = 0, refused = 0
        let alphabet = Array(" \t\n\r#-+0123456789keyupdownpointerbuttonwheeltypeKEY_A\\xé".utf8)
        for i in 0..<100_000 {
            var bytes = seeds[i % seeds.count]
            for _ in 0..<rng.int(1...6) where !bytes.isEmpty {
                let at = rng.int(0...(bytes.count - 1))
                switch rng.next() % 5 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.removeSubrange(at..<min(bytes.count, at + rng.int(1...8)))
                case 2: bytes.insert(alphabet[rng.int(0...(alphabet.count - 1))], at: at)
                case 3: bytes[at] = alphabet[rng.int(0...(alphabet.count - 1))]
                default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + rng.int(1...20))], at: rng.int(0...bytes.count - 1))
                }
            }
            do {
                let s = try InputScript(parsing: bytes, name: "m")
                read += 1
                #expect(zip(s.entries, s.entries.dropFirst()).allSatisfy { $0.frame <= $1.frame })
            } catch {
                refused += 1
                let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
                #expect(error.line >= 1 && error.line <= lines, "\(error)")
                #expect(error.description.hasPrefix("m:\(error.line): ") && !error.message.isEmpty)
            }
        }
        #expect(read + refused == 100_000)
        #expect(read > 1000 && refused > 1000, "both outcomes were exercised: \(read) read, \(refused) refused")
    }
}

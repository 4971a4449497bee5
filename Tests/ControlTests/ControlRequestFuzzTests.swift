@testable import Control
import XCTest
import TestSupport

/// The request parser takes any bytes without a trap: random lines and mutations of valid
/// ones, from a fixed seed (so a failure repeats). Each input is a request that reads back as
/// itself, or one refusal of one line.
final class ControlRequestFuzzTests: XCTestCase {
    private static let seeds = [
        "status", "pause", "resume", "cancel", "quit", "snapshot /tmp/a.snap", #"snapshot "/tmp/a b" --incremental /tmp/base"#,
        "migrate 127.0.0.1:7777 --max-downtime 30 --max-bandwidth 128M --max-rounds 5 --verify-migration", "migrate [::1]:1",
    ]
    private static let tokens = [
        " ", "\t", "\"", "\\", "--", "--incremental", "--max-downtime", "--max-bandwidth", "--max-rounds", "--verify-migration",
        ":", "[", "]", "/", "0", "-1", "65536", "1e308", "nan", "inf", "99999999999999999999", "\u{0}", "\u{7F}", "\u{FFFF}", "é", "M", "G",
    ]

    func testTwoHundredThousandInputsNeverTrap() {
        var rng = SplitMix(seed: 0x5EED_C0DE)
        var accepted = 0
        for i in 0..<200_000 {
            let line = i % 4 == 0 ? randomBytes(&rng) : mutate(Array(Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))].utf8), &rng)
            do {
                let request = try ControlRequest.parse(line: line)
                accepted += 1
                XCTAssertEqual(try? ControlRequest.parse(line: Array(request.line.utf8)), request, "input \(i) does not read back")
            } catch let e as ControlRequestError {
                let text = e.description
                if text.isEmpty || text.contains("\n") { XCTFail("input \(i): refusal \(text.debugDescription)") }
            } catch {
                XCTFail("input \(i): \(error)")
            }
        }
        XCTAssertGreaterThan(accepted, 1000, "the mutations should keep some requests valid")
    }

    private func randomBytes(_ rng: inout SplitMix) -> [UInt8] {
        let n = Int(rng.next() % 80)
        return (0..<n).map { _ in rng.next() % 3 == 0 ? UInt8(rng.next() % 128) : UInt8(truncatingIfNeeded: rng.next()) }
    }

    private func mutate(_ seed: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var b = seed
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let at = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count + 1))
            switch rng.next() % 5 {
            case 0 where !b.isEmpty: b.remove(at: min(at, b.count - 1))
            case 1: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            case 2 where !b.isEmpty: b[min(at, b.count - 1)] ^= UInt8(1 << (rng.next() % 8))
            case 3: b.insert(contentsOf: Array(Self.tokens[Int(rng.next() % UInt64(Self.tokens.count))].utf8), at: at)
            default: if rng.next() % 50 == 0 { b += [UInt8](repeating: 0x61, count: ControlWords.maxLineBytes) }
            }
        }
        return b
    }
}

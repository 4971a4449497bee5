import MigrationWire
import XCTest

/// `challenge` and `binding` (the nonce a destination chooses and the source binds): their
/// frames, and every way one can be wrong on the wire.
final class NonceMessageTests: XCTestCase {
    private func frame(_ m: MigrationMessage) -> [UInt8] {
        var out: [UInt8] = []
        MigrationWire.encode(m, into: &out)
        return out
    }

    func testBothCarryExactlySixteenBytesAndDecodeToThemselves() throws {
        let nonce = (0..<16).map { UInt8($0 * 7 + 3) }
        for m in [MigrationMessage.challenge(nonce: nonce), .binding(nonce: nonce)] {
            let f = frame(m)
            XCTAssertEqual(f.count, 4 + 1 + 16, m.name)
            XCTAssertEqual(try MigrationWire.frameLength(f.prefix(5)), 17)
            XCTAssertEqual(try MigrationWire.decode(Array(f.dropFirst(4))), m)
        }
        XCTAssertEqual(Array(frame(.challenge(nonce: nonce))[4...4]), [20])
        XCTAssertEqual(Array(frame(.binding(nonce: nonce))[4...4]), [21])
    }

    func testAShortOrLongNonceIsRefused() {
        for body in [[20] + [UInt8](repeating: 1, count: 15), [21] + [UInt8](repeating: 1, count: 17), [UInt8(21)]] {
            XCTAssertThrowsError(try MigrationWire.decode(body), "\(body.count) bytes") { e in
                XCTAssertTrue("\(e)".hasPrefix("malformed migration stream: "), "\(e)")
            }
        }
    }

    func testTheNonceBitIsKnownAndDistinctFromCompression() {
        XCTAssertEqual(MigrationWire.capabilityBindsNonce, 2)
        XCTAssertEqual(MigrationWire.knownCapabilities & MigrationWire.capabilityBindsNonce, 2)
        XCTAssertEqual(MigrationWire.capabilityBindsNonce & MigrationWire.capabilityCompressedPages, 0)
    }
}

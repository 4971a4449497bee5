import MigrationWire

/// The migration decoder: the input as one frame body, and as a stream of frames. Whatever
/// decodes must re-encode to bytes that decode to the same encoding.
enum WireFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        var outcome = FuzzOutcome()
        check(bytes, &outcome)
        let (bodies, error) = frames(bytes)
        for body in bodies { check(body, &outcome) }
        if let error { outcome.refuse(error) }
        return outcome
    }

    /// The whole frames at the start of `bytes` (each length checked as a connection checks
    /// it), and the error that stopped the split, if one did.
    static func frames(_ bytes: [UInt8]) -> ([[UInt8]], MigrationWireError?) {
        var bodies: [[UInt8]] = []
        var at = 0
        while at < bytes.count {
            let n: Int?
            do { n = try MigrationWire.frameLength(bytes[at..<min(at + 5, bytes.count)]) } catch { return (bodies, error) }
            guard let n, n <= bytes.count - at - 4 else { break }
            bodies.append(Array(bytes[(at + 4)..<(at + 4 + n)]))
            at += 4 + n
        }
        return (bodies, nil)
    }

    private static func check(_ body: [UInt8], _ outcome: inout FuzzOutcome) {
        let m: MigrationMessage
        do { m = try MigrationWire.decode(body) } catch { outcome.refuse(error); return }
        outcome.accepted += 1
        var once: [UInt8] = []
        MigrationWire.encode(m, into: &once)
        do {
            var twice: [UInt8] = []
            MigrationWire.encode(try MigrationWire.decode(Array(once[4...])), into: &twice)
            if once != twice { outcome.violations.append("a \(m.name) message re-encodes differently") }
        } catch {
            outcome.violations.append("a \(m.name) message, re-encoded, does not decode: \(error)")
        }
    }
}

/// Failed VNC authentications per client address, as TigerVNC's blacklist counts them: after
/// `blockAfter` failures in a row an address is refused for `blockSeconds`; every failure
/// after a block has ended blocks it again for twice as long as the block before. A success
/// forgets the address. Pure bookkeeping over a clock the caller passes in (tests fix it).
public struct AuthThrottle: Sendable {
    /// Failures in a row before the first block (0: never block).
    public let blockAfter: Int
    /// The first block, in seconds; each later one doubles.
    public let blockSeconds: Double

    struct Entry: Sendable {
        var failures = 0
        var blockedUntil = 0.0
        var nextBlock: Double
    }
    private var entries: [String: Entry] = [:]
    /// Addresses remembered at most (an attacker with many addresses cannot grow this without
    /// bound): past it, addresses not blocked now are forgotten.
    static let maxEntries = 4096
    /// Doubling stops at a day.
    static let longestBlock = 86400.0

    public init(blockAfter: Int, blockSeconds: Double) {
        self.blockAfter = blockAfter
        self.blockSeconds = blockSeconds
    }

    /// Seconds `address` is still refused for at `now`, or nil when it may try.
    public func blocked(_ address: String, now: Double) -> Double? {
        guard let e = entries[address], e.blockedUntil > now else { return nil }
        return e.blockedUntil - now
    }

    /// A wrong password from `address` at `now`.
    public mutating func failed(_ address: String, now: Double) {
        guard blockAfter > 0 else { return }
        if entries.count >= Self.maxEntries, entries[address] == nil {
            entries = entries.filter { $0.value.blockedUntil > now }
        }
        var e = entries[address] ?? Entry(nextBlock: blockSeconds)
        e.failures += 1
        if e.failures >= blockAfter {
            e.blockedUntil = now + e.nextBlock
            e.nextBlock = min(e.nextBlock * 2, Self.longestBlock)
        }
        entries[address] = e
    }

    /// The right password from `address`: its failures are forgotten.
    public mutating func succeeded(_ address: String) {
        entries[address] = nil
    }
}

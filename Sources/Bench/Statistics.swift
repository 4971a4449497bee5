/// Nearest-rank percentile of an ascending array: the smallest value with at least `p` of
/// the samples at or below it (`p` in 0...1). `nil` when empty.
func percentile(sorted: [Double], _ p: Double) -> Double? {
    guard !sorted.isEmpty else { return nil }
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

func median(_ values: [Double]) -> Double? {
    percentile(sorted: values.sorted(), 0.5)
}

/// A fixed-size log-linear histogram of nanosecond values (32 sub-buckets per power of two,
/// so a percentile is exact to within about 3 %). Recording never allocates, so it can
/// count every refresh of a free-running guest.
struct LatencyHistogram {
    private static let subBits = 5
    private static let sub = 1 << subBits
    private var counts: [UInt64]
    private(set) var total: UInt64 = 0

    init() {
        counts = [UInt64](repeating: 0, count: 64 * Self.sub)
    }

    @inline(__always)
    static func bucket(_ ns: UInt64) -> Int {
        if ns < UInt64(sub) { return Int(ns) }
        let top = 63 - ns.leadingZeroBitCount            // >= subBits
        let shift = top - subBits
        let mantissa = Int((ns >> UInt64(shift)) & UInt64(sub - 1))
        return (shift + 1) * sub + mantissa
    }

    /// The midpoint of bucket `b`'s value range.
    static func value(ofBucket b: Int) -> Double {
        if b < sub { return Double(b) }
        let shift = b / sub - 1
        let mantissa = b % sub
        let low = Double((sub + mantissa) << shift)
        return low + Double(1 << shift) / 2
    }

    mutating func record(_ ns: UInt64) {
        counts[Self.bucket(ns)] += 1
        total += 1
    }

    mutating func clear() {
        counts.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        total = 0
    }

    /// The nearest-rank percentile in nanoseconds (bucket midpoint), `nil` when empty.
    func percentile(_ p: Double) -> Double? {
        guard total > 0 else { return nil }
        let rank = max(1, UInt64((p * Double(total)).rounded(.up)))
        var seen: UInt64 = 0
        for (b, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= rank { return Self.value(ofBucket: b) }
        }
        return nil
    }
}

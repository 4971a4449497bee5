/// A ZRLE tile's palette (RFC 6143 7.7.6): up to 127 colours, the most palette RLE can
/// index (a byte whose top bit marks a run), found with a 256-slot open-addressing table so
/// that looking a colour up costs the same with 2 colours as with 127.
struct ZRLEPalette {
    /// The most colours palette RLE can index; packed palettes take at most 16.
    static let maxColours = 127

    /// The colours in the order they were first seen (their indexes).
    private(set) var colours: [UInt32] = []
    /// Slot -> colour and its index + 1 (0: empty).
    private var keys = [UInt32](repeating: 0, count: 256)
    private var indexes = [UInt8](repeating: 0, count: 256)
    private var usedSlots: [Int] = []

    init() {
        colours.reserveCapacity(Self.maxColours)
        usedSlots.reserveCapacity(Self.maxColours)
    }

    var count: Int { colours.count }

    /// Empties the palette (costs only the slots used).
    mutating func removeAll() {
        for s in usedSlots { indexes[s] = 0 }
        usedSlots.removeAll(keepingCapacity: true)
        colours.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private static func slot(_ v: UInt32) -> Int { Int((v &* 0x9E37_79B1) >> 24) }

    /// Adds `v` unless it is there; false when it is new and the palette already holds
    /// `maxColours` (the tile has too many colours for a palette).
    @inline(__always)
    mutating func insert(_ v: UInt32) -> Bool {
        var s = Self.slot(v)
        while indexes[s] != 0 {
            if keys[s] == v { return true }
            s = (s + 1) & 255
        }
        guard colours.count < Self.maxColours else { return false }
        keys[s] = v
        colours.append(v)
        indexes[s] = UInt8(colours.count)
        usedSlots.append(s)
        return true
    }

    /// The index of `v`, which must have been inserted.
    @inline(__always)
    func index(of v: UInt32) -> UInt8 {
        var s = Self.slot(v)
        while indexes[s] != 0 {
            if keys[s] == v { return indexes[s] - 1 }
            s = (s + 1) & 255
        }
        preconditionFailure("ZRLE palette: a colour that was never inserted")
    }
}

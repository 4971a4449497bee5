/// One bit per tile: set when the tile must be copied (or repainted) this frame.
///
/// Backed by a `[UInt64]` allocated once in `init`; `set`, `clearAll` and `formUnion`
/// never allocate as long as the bitmap is uniquely referenced.
public struct DirtyTileBitmap: Sendable, Equatable {
    /// The number of tiles the bitmap covers.
    public let count: Int
    /// The bits, 64 tiles per word; bits past `count` in the last word are always zero.
    public private(set) var words: [UInt64]

    /// An all-clear bitmap for `count` tiles.
    public init(count: Int) {
        precondition(count >= 0, "negative tile count")
        self.count = count
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    /// Marks tile `i` dirty.
    @inline(__always)
    public mutating func set(_ i: Int) {
        precondition(i >= 0 && i < count, "tile \(i) out of range 0..<\(count)")
        words[i >> 6] |= 1 << UInt64(i & 63)
    }

    /// Marks tile `i` clean.
    @inline(__always)
    public mutating func clear(_ i: Int) {
        precondition(i >= 0 && i < count, "tile \(i) out of range 0..<\(count)")
        words[i >> 6] &= ~(1 << UInt64(i & 63))
    }

    /// Whether tile `i` is dirty.
    @inline(__always)
    public func contains(_ i: Int) -> Bool {
        precondition(i >= 0 && i < count, "tile \(i) out of range 0..<\(count)")
        return words[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    /// Marks every tile clean.
    public mutating func clearAll() {
        words.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Marks every tile dirty (a full repaint).
    public mutating func setAll() {
        words.withUnsafeMutableBufferPointer { $0.update(repeating: ~0) }
        let tail = count & 63
        if tail != 0 { words[words.count - 1] = (1 << UInt64(tail)) - 1 }
    }

    /// Number of dirty tiles.
    public var popCount: Int {
        var n = 0
        for w in words { n += w.nonzeroBitCount }
        return n
    }

    /// Whether no tile is dirty.
    public var isEmpty: Bool {
        for w in words where w != 0 { return false }
        return true
    }

    /// Calls `body` with the index of every dirty tile, ascending. Skips clean words whole.
    @inline(__always)
    public func forEachSet(_ body: (Int) throws -> Void) rethrows {
        for wordIndex in words.indices {
            var w = words[wordIndex]
            let base = wordIndex << 6
            while w != 0 {
                try body(base + w.trailingZeroBitCount)
                w &= w &- 1
            }
        }
    }

    /// Makes this bitmap equal to `other` (same `count`) without sharing its storage, so
    /// neither later needs a copy-on-write allocation.
    public mutating func copyBits(from other: DirtyTileBitmap) {
        precondition(other.count == count, "bitmaps cover different tile counts")
        words.withUnsafeMutableBufferPointer { d in
            other.words.withUnsafeBufferPointer { s in _ = d.update(fromContentsOf: s) }
        }
    }

    /// Adds every tile dirty in `other` (same `count`).
    public mutating func formUnion(_ other: DirtyTileBitmap) {
        precondition(other.count == count, "bitmaps cover different tile counts")
        for i in words.indices { words[i] |= other.words[i] }
    }
}

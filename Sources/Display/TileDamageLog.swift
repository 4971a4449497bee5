import Synchronization

/// One damage record for any number of display sinks, each reading at its own pace.
///
/// Each tile keeps the generation at which it was last repainted; each sink keeps the
/// generation it last read up to (a `DamageCursor`). Recording a refresh costs only its dirty
/// tiles, whatever the number of sinks; a sink pays for its own query, which skips whole
/// words of 64 tiles that nothing repainted since it last looked. A sink that never reads
/// costs nothing and holds no growing memory: its cursor is one number.
///
/// A new cursor sees every tile once (every tile starts at generation 1, cursors at 0), so a
/// sink that joins late draws the whole screen first. Generations are 64-bit: at a million
/// refreshes a second they last half a million years.
public struct TileDamageLog: Sendable {
    /// Tiles covered (the grid's `count`).
    public let count: Int
    /// Identifies this log's geometry: a cursor made for another log (e.g. before a mode set)
    /// sees every tile, because its generations mean nothing here.
    public let epoch: UInt64
    /// The generation of the latest recorded refresh that repainted anything.
    public private(set) var generation: UInt64 = 1
    private var tileGeneration: [UInt64]
    /// Highest tile generation in each word of 64 tiles: lets a query skip quiet words.
    private var wordGeneration: [UInt64]
    /// The tiles of the latest recorded refresh (generation `generation`): a sink that read
    /// up to the one before, as one reading every sync does, gets a copy of these words
    /// instead of a scan of the generations.
    private var latest: DirtyTileBitmap

    /// Process-wide source of distinct epochs.
    private static let epochs = Atomic<UInt64>(0)

    public init(count: Int) {
        precondition(count >= 0, "negative tile count")
        self.count = count
        epoch = Self.epochs.add(1, ordering: .relaxed).newValue
        tileGeneration = [UInt64](repeating: 1, count: count)
        wordGeneration = [UInt64](repeating: 1, count: (count + 63) / 64)
        latest = DirtyTileBitmap(count: count)
        latest.setAll()
    }

    /// A cursor that has seen nothing yet: its first query returns every tile.
    public func newCursor() -> DamageCursor { DamageCursor(epoch: epoch, seen: 0) }

    /// Records one refresh's repainted tiles as a new generation. An empty bitmap records
    /// nothing (sinks asking afterwards get nothing new).
    public mutating func record(_ dirty: DirtyTileBitmap) {
        precondition(dirty.count == count, "bitmap covers \(dirty.count) tiles, the log \(count)")
        guard !dirty.isEmpty else { return }
        generation += 1
        latest.copyBits(from: dirty)
        let g = generation
        tileGeneration.withUnsafeMutableBufferPointer { tiles in
            wordGeneration.withUnsafeMutableBufferPointer { words in
                for (w, bits) in dirty.words.enumerated() where bits != 0 {
                    words[w] = g
                    var b = bits
                    while b != 0 {
                        tiles[(w << 6) | b.trailingZeroBitCount] = g
                        b &= b &- 1
                    }
                }
            }
        }
    }

    /// Marks every tile repainted (a full repaint, e.g. after a switch of tracking method).
    public mutating func recordAll() {
        var all = DirtyTileBitmap(count: count)
        all.setAll()
        record(all)
    }

    /// Whether anything was repainted since `cursor` last read.
    public func hasChanges(since cursor: DamageCursor) -> Bool {
        cursor.epoch != epoch || cursor.seen < generation
    }

    /// Fills `dirty` with exactly the tiles repainted since `cursor` last read and moves the
    /// cursor to now. Allocates nothing when `dirty` is uniquely referenced and sized for the log.
    public func changes(since cursor: inout DamageCursor, into dirty: inout DirtyTileBitmap) {
        if dirty.count != count { dirty = DirtyTileBitmap(count: count) }
        if cursor.epoch != epoch {
            dirty.setAll()
        } else if cursor.seen >= generation {
            dirty.clearAll()
        } else if cursor.seen == generation - 1 {
            // Exactly the latest refresh is new: its tiles are the ones stamped `generation`.
            dirty.copyBits(from: latest)
        } else {
            let seen = cursor.seen
            dirty.clearAll()
            tileGeneration.withUnsafeBufferPointer { tiles in
                for (w, g) in wordGeneration.enumerated() where g > seen {
                    let end = min(count, (w + 1) << 6)
                    for i in (w << 6)..<end where tiles[i] > seen { dirty.set(i) }
                }
            }
        }
        cursor = DamageCursor(epoch: epoch, seen: generation)
    }
}

/// Where one sink has read a `TileDamageLog` up to. Value type: a sink owns its cursor.
public struct DamageCursor: Sendable, Equatable {
    public let epoch: UInt64
    public let seen: UInt64
}

internal import CRFB

/// One zlib stream (system zlib through the CRFB shim). ZRLE keeps one per connection for
/// its whole life; each call ends with a sync flush so the client can decode up to there.
public final class Deflater {
    private let stream: OpaquePointer
    private var scratch: [UInt8] = []

    public init(level: Int32 = 6) {
        guard let s = crfb_deflater_new(level) else { fatalError("zlib: out of memory creating a deflate stream") }
        stream = s
    }

    deinit { crfb_deflater_free(stream) }

    /// Compresses `input` and sync-flushes; returns the compressed bytes.
    public func compress(_ input: [UInt8]) -> [UInt8] {
        let bound = crfb_deflate_bound(input.count)
        if scratch.count < bound { scratch = [UInt8](repeating: 0, count: bound) }
        let n = input.withUnsafeBufferPointer { i in
            scratch.withUnsafeMutableBufferPointer { o in
                crfb_deflate_sync(stream, i.baseAddress, i.count, o.baseAddress, o.count)
            }
        }
        precondition(n >= 0, "zlib deflate failed (\(n)) with a buffer of its own bound")
        return Array(scratch[0..<n])
    }
}

/// A zlib inflate stream, for tests that decode what the server sent.
public final class Inflater {
    private let stream: OpaquePointer
    public init() {
        guard let s = crfb_inflater_new() else { fatalError("zlib: out of memory creating an inflate stream") }
        stream = s
    }
    deinit { crfb_inflater_free(stream) }
    /// Inflates `input` (which must end at a flush point) into at most `capacity` bytes; nil on a zlib error.
    public func inflate(_ input: [UInt8], capacity: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: max(capacity, 1))
        let n = input.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in crfb_inflate(stream, i.baseAddress, i.count, o.baseAddress, o.count) }
        }
        guard n >= 0 else { return nil }
        return Array(out[0..<n])
    }
}

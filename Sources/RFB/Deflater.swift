internal import CRFB
import NIOCore

/// One zlib stream (system zlib through the CRFB shim). ZRLE and Tight keep theirs for the
/// connection's life. Input is fed in pieces as an encoder produces it and the compressed
/// bytes go straight into the message's `ByteBuffer`; a sync flush ends each rectangle so the
/// client can decode up to there.
public final class Deflater {
    private let stream: OpaquePointer

    public init(level: Int32 = 6) {
        guard let s = crfb_deflater_new(level) else { fatalError("zlib: out of memory creating a deflate stream") }
        stream = s
    }

    deinit { crfb_deflater_free(stream) }

    /// Compresses `input` onto the end of `out`; with `sync`, then sync-flushes (everything
    /// fed so far becomes decodable). Returns the bytes written to `out`.
    @discardableResult
    public func feed(_ input: UnsafeRawBufferPointer, into out: inout ByteBuffer, sync: Bool) -> Int {
        var offset = 0
        var written = 0
        while true {
            let rest = input.count - offset
            var consumed = 0
            var filled = false
            // Room for the rest at zlib's worst expansion, and for what the stream still holds.
            let room = rest + rest / 1000 + 64 + (sync ? 4096 : 0)
            let n = out.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { o -> Int in
                // SAFETY: zlib reads `rest` bytes from inside `input` and writes at most `o.count` into `o`.
                let r = crfb_deflate_feed(stream, rest > 0 ? input.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset : nil, rest,
                                          o.baseAddress!.assumingMemoryBound(to: UInt8.self), o.count, sync ? 1 : 0, &consumed)
                precondition(r >= 0, "zlib deflate failed (\(r))")
                filled = r == o.count
                return r
            }
            written += n
            offset += consumed
            if offset == input.count && !filled { return written }
        }
    }

    /// Compresses `input` onto the end of `out` and sync-flushes. Returns the bytes written.
    @discardableResult
    public func compress(_ input: [UInt8], into out: inout ByteBuffer) -> Int {
        input.withUnsafeBytes { feed($0, into: &out, sync: true) }
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

internal import CZlib

/// Compressed page batches (protocol 4 with the `compressedPages` capability).
///
/// A `compressed-pages` frame (type 19) carries one `pages` message deflated: `u32` the length of
/// the `pages` body it inflates to (everything after its type byte: slot, count, records; at most
/// `maxFrameBytes`), `u8` method (1: zlib), then the zlib stream to the frame's end. It decodes to
/// the `pages` message itself, so nothing after the decoder knows it was compressed. A sender
/// uses it only when the destination's hello has the capability bit, and only for a batch it
/// makes smaller.
extension MigrationWire {
    /// Capability bit of a hello: this side reads `compressed-pages` (a destination), or would
    /// like to send them (a source). Protocol 4 peers built before it send 0 and ignore the bit.
    public static let capabilityCompressedPages: UInt32 = 1 << 0
    /// The capability bits this build understands.
    public static let knownCapabilities: UInt32 = capabilityCompressedPages | capabilityBindsNonce
    static let zlibMethod: UInt8 = 1

    /// `frame` (one whole `pages` frame, length included) as a `compressed-pages` frame at zlib
    /// `level`, appended to `out`; false (nothing appended) when it would not be smaller.
    public static func compressPagesFrame(_ frame: [UInt8], level: Int32, into out: inout [UInt8]) -> Bool {
        precondition(frame.count > 5 && frame[4] == Kind.pages.rawValue, "not a pages frame")
        let rawLength = frame.count - 5
        let header = 4 + 1 + 4 + 1
        let bound = czlib_bound(rawLength)
        // Written in place, with no pass over the bytes in Swift: only zlib touches them.
        let packed = [UInt8](unsafeUninitializedCapacity: header + bound) { dst, count in
            let written = frame.withUnsafeBufferPointer { src in
                // SAFETY: src holds rawLength bytes after its 5-byte head; dst has room for bound bytes after the header.
                czlib_deflate(src.baseAddress! + 5, rawLength, dst.baseAddress! + header, bound, level)
            }
            guard written > 0, header + written < frame.count else { count = 0; return }
            let fields: [UInt8] = [UInt8(truncatingIfNeeded: header - 4 + written), UInt8(truncatingIfNeeded: (header - 4 + written) >> 8),
                                   UInt8(truncatingIfNeeded: (header - 4 + written) >> 16), UInt8(truncatingIfNeeded: (header - 4 + written) >> 24),
                                   Kind.compressedPages.rawValue,
                                   UInt8(truncatingIfNeeded: rawLength), UInt8(truncatingIfNeeded: rawLength >> 8),
                                   UInt8(truncatingIfNeeded: rawLength >> 16), UInt8(truncatingIfNeeded: rawLength >> 24), zlibMethod]
            for i in 0..<header { dst[i] = fields[i] }
            count = header + written
        }
        guard !packed.isEmpty else { return false }
        out += packed
        return true
    }

    /// The `pages` message a `compressed-pages` body (after its type byte) holds. The declared
    /// length is checked before anything is allocated, and inflating never goes past it.
    static func compressedPages(_ r: inout ByteReader) throws(MigrationWireError) -> MigrationMessage {
        let rawLength = Int(try r.u32())
        guard rawLength >= 8, rawLength <= maxFrameBytes else {
            throw .malformed("compressed pages declared to inflate to \(rawLength) bytes (8 to \(maxFrameBytes))")
        }
        let method = try r.u8()
        guard method == zlibMethod else { throw .malformed("compression method \(method) (only 1, zlib, is known)") }
        let deflated = try r.bytes(r.remaining)
        var raw = [UInt8](repeating: 0, count: rawLength)
        let rc = deflated.withUnsafeBufferPointer { src in
            raw.withUnsafeMutableBufferPointer { dst in
                // SAFETY: both buffers are Swift arrays of the counts passed.
                czlib_inflate_exact(src.baseAddress, src.count, dst.baseAddress, dst.count)
            }
        }
        switch rc {
        case 0: break
        case Int32(CZLIB_TOO_LONG): throw .malformed("compressed pages inflate beyond the declared \(rawLength) bytes")
        case Int32(CZLIB_TOO_SHORT): throw .malformed("compressed pages inflate to fewer than the declared \(rawLength) bytes")
        case Int32(CZLIB_TRUNCATED): throw .malformed("compressed pages are truncated (the zlib stream does not end)")
        case Int32(CZLIB_TRAILING): throw .malformed("bytes after the zlib stream of compressed pages")
        case Int32(CZLIB_NO_MEMORY): throw .malformed("no memory to inflate compressed pages")
        default: throw .malformed("compressed pages are not a valid zlib stream")
        }
        var inner = ByteReader(raw)
        let m = try pages(&inner)
        guard inner.atEnd else { throw .malformed("\(inner.remaining) bytes after the pages inside compressed pages") }
        return m
    }
}

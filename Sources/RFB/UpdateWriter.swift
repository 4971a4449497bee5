import NIOCore

/// Builds one FramebufferUpdate message in a `ByteBuffer`: its header, then rectangles whose
/// encoders write their data straight after their headers. A long message can go out in
/// slices (`takeSlice`) while it is built, when its rectangle count was given up front or
/// LastRect ends it.
public struct UpdateWriter {
    public private(set) var buffer: ByteBuffer
    public private(set) var rectangles = 0
    /// Where the count is, while it is still in `buffer` and to be filled in by `finish`.
    private var countIndex: Int?
    private let lastRect: Bool
    private let declared: Int?
    private let allocator: ByteBufferAllocator

    /// With `lastRect`, the count is written as 0xFFFF and `finish` appends a LastRect; with
    /// `rectangles`, that count is written now and must be met; else `finish` fills it in.
    public init(lastRect: Bool = false, rectangles declared: Int? = nil, allocator: ByteBufferAllocator = ByteBufferAllocator(),
                capacity: Int = 256) {
        precondition(declared.map { (0...0xFFFF).contains($0) } ?? true, "more than 65535 rectangles in one update")
        buffer = allocator.buffer(capacity: capacity)
        self.allocator = allocator
        self.lastRect = lastRect
        self.declared = lastRect ? nil : declared
        let count: UInt16 = lastRect ? 0xFFFF : UInt16(declared ?? 0)
        buffer.writeMultipleIntegers(UInt8(0), UInt8(0), count)
        if !lastRect && declared == nil { countIndex = 2 }
    }

    /// Writes a rectangle header; the caller then writes its data into `buffer` (`withBuffer`).
    public mutating func header(_ r: RFBRect, encoding: Int32) {
        buffer.writeMultipleIntegers(UInt16(r.x), UInt16(r.y), UInt16(r.width), UInt16(r.height), encoding)
        rectangles += 1
    }

    /// Lends the message buffer to an encoder that writes onto its end.
    public mutating func withBuffer<R>(_ body: (inout ByteBuffer) throws -> R) rethrows -> R { try body(&buffer) }

    /// Bytes written and not yet taken.
    public var pendingBytes: Int { buffer.readableBytes }

    /// The bytes written so far, to send before the rest of the message (only once the count
    /// in the header is final: given up front, or LastRect).
    public mutating func takeSlice() -> ByteBuffer {
        precondition(countIndex == nil, "the count of this update is filled in only when it is finished")
        // A new buffer for the rest: writing on into a buffer whose bytes are still being sent would copy them.
        defer { buffer = allocator.buffer(capacity: 256) }
        return buffer
    }

    /// The rest of the message.
    public mutating func finish() -> ByteBuffer {
        if lastRect {
            header(RFBRect(x: 0, y: 0, width: 0, height: 0), encoding: EncodingType.lastRect)
        } else if let countIndex {
            precondition(rectangles <= 0xFFFF, "more than 65535 rectangles in one update without LastRect")
            buffer.setInteger(UInt16(rectangles), at: countIndex)
        } else {
            precondition(rectangles == declared, "\(rectangles) rectangles written, \(declared ?? 0) declared")
        }
        return buffer
    }
}

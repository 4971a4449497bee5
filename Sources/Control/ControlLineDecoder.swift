import NIOCore

/// What arrives on a control connection: a line (its newline, and a carriage return before
/// it, removed), or the start of one longer than the limit, after which nothing more is read.
enum ControlLine: Sendable {
    case line([UInt8])
    case tooLong(Int)
}

/// Splits a control connection's bytes into lines of at most `limit` bytes; buffers no more
/// than that.
struct ControlLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ControlLine
    let limit: Int
    private var failed = false

    init(limit: Int) { self.limit = limit }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard !failed else {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > limit {
                failed = true
                context.fireChannelRead(Self.wrapInboundOut(.tooLong(view.count)))
            }
            return .needMoreData
        }
        let length = newline - view.startIndex
        var bytes = buffer.readBytes(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard bytes.count <= limit else {
            failed = true
            context.fireChannelRead(Self.wrapInboundOut(.tooLong(bytes.count)))
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(.line(bytes)))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A last request without its newline is still a request.
        if !failed, buffer.readableBytes > 0, seenEOF {
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        return try decode(context: context, buffer: &buffer)
    }
}

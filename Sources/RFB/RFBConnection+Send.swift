import Dispatch
import NIOCore

/// What a client is sent: messages, and updates slice by slice.
extension RFBConnection {
    /// Bytes of an update gathered before they go to the socket (a long update goes out in
    /// slices of this size, pausing between them while the socket is full).
    static let sliceBytes = 64 << 10

    /// A FramebufferUpdateRequest: merged with one already waiting (the bounds of both,
    /// incremental only if both are). While continuous updates run, incremental requests are
    /// ignored (RFB's rule).
    func request(incremental: Bool, _ rect: RFBRect) {
        if incremental && continuous.region != nil { return }
        if let p = pending {
            let x0 = min(p.rect.x, rect.x), y0 = min(p.rect.y, rect.y)
            pending = (p.incremental && incremental,
                       RFBRect(x: x0, y: y0, width: max(p.rect.maxX, rect.maxX) - x0, height: max(p.rect.maxY, rect.maxY) - y0))
        } else {
            pending = (incremental, rect)
        }
        wakeWanted = true
    }

    /// Wakes this connection when the next lossy area is due for its lossless refresh.
    func armRefresh() {
        // A due refresh with no request outstanding (nor continuous updates) waits for the next request (see `wake`).
        guard refreshTimer == nil, !closing, let due = encoder.lossy.nextDue, due > DispatchTime.now().uptimeNanoseconds else { return }
        refreshTimer = channel.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(due)) { [self] in
            refreshTimer = nil
            wake()
            armRefresh()
        }
    }

    /// From any thread: drops this client with one line (another client took the screen).
    func disconnect(_ why: String) {
        channel.eventLoop.execute { [self] in drop(why) }
    }

    func send(_ bytes: [UInt8]) {
        guard channel.isActive else { return }
        server.count(sent: bytes.count)
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
    }

    /// Sends part of an update; `readAt` (when the surface read the display it shows) with
    /// its last slice, which is counted in `unflushedUpdates` until NIO has handed it to the
    /// socket.
    func send(_ slice: ByteBuffer, readAt: UInt64?) {
        guard channel.isActive else { return }
        server.count(sent: slice.readableBytes)
        guard let readAt else { return channel.writeAndFlush(slice, promise: nil) }
        unflushedUpdates += 1
        let written = server.options.updateWritten
        channel.writeAndFlush(slice).whenComplete { [self] result in
            if case .success = result { written?(readAt, DispatchTime.now().uptimeNanoseconds) }
            // Later, not here: this may run inside the write, in the middle of `wake`.
            channel.eventLoop.execute { [self] in updateFlushed() }
        }
    }
}

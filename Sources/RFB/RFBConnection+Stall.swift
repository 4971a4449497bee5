import Foundation
import NIOCore

/// A client whose socket stays full: when the stall began, and the line it is dropped with.
extension RFBConnection {
    /// The socket drained below the low-water mark: the stall ends, the update goes on.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if channel.isWritable {
            if !backlogged { stalledSince = nil }
            wake()
        }
    }

    /// A reset (a viewer killed with updates still unread in its socket) is how clients often
    /// leave: closed, it ends with the usual disconnect line and its counts; other errors drop.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !closing else { return }
        if let io = error as? IOError, io.errnoCode == ECONNRESET || io.errnoCode == EPIPE { channel.close(promise: nil); return }
        drop("connection error: \(RFBServer.reason(error))")
    }

    /// Whether the client is behind: NIO holds more than the high-water mark for it, or (with
    /// continuous updates) its last update has not yet gone into the socket.
    var backlogged: Bool { !channel.isWritable || (continuous.region != nil && unflushedUpdates > 0) }

    /// The socket is full: the stall starts now unless it already had.
    func markStall() {
        guard stalledSince == nil else { return }
        stalledSince = Date()
        progressAtStall = nil
        TCPProgress.read(channel) { [self] p in progressAtStall = p }
    }

    /// Drops a client whose socket stayed full for the stall timeout, saying what it did: read
    /// nothing, or too little to take the updates waiting for it (a client that reads 4 KiB
    /// every half second takes a long time to let the socket drain).
    func checkStall() {
        guard !closing else { return }
        if !backlogged { stalledSince = nil; return }
        markStall()
        guard let since = stalledSince, Date().timeIntervalSince(since) > server.options.stallTimeout else { return }
        let t = server.options.stallTimeout, before = progressAtStall
        let buffered = (try? channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
        TCPProgress.read(channel) { [self] now in
            guard let now, let before else {
                return drop(String(format: "its socket stayed full for %g s", t))
            }
            let took = now.bytesAcked - min(now.bytesAcked, before.bytesAcked), waiting = buffered + Int(now.notSent)
            if took == 0 {
                drop(String(format: "it read nothing for %g s (its socket stayed full)", t))
            } else {
                drop(String(format: "it did not read the %d bytes of updates waiting for it within %g s (it took only %llu bytes in that time)",
                            waiting, t, took))
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// A client's continuous updates and fences (TigerVNC's extensions, RFB pseudo-encodings -313
/// and -312), between its messages.
struct ContinuousState {
    /// The region continuous updates cover, while they are enabled.
    var region: RFBRect?
    /// Whether the client was told the server understands each extension (once each).
    var announcedContinuous = false, announcedFence = false
    /// Fence replies and EndOfContinuousUpdates that wait for the update being written to end
    /// (a message never goes out inside an update).
    var held: [UInt8] = []
    /// Whether a held fence reply with BlockAfter keeps the client's next messages unhandled
    /// (and unread) until it is sent.
    var holding = false
    /// A SyncNext fence, answered once the message after it was handled.
    var syncFence: (flags: UInt32, payload: [UInt8])?

    mutating func takeSyncFence() -> (flags: UInt32, payload: [UInt8])? {
        defer { syncFence = nil }
        return syncFence
    }
}

/// Continuous updates: once a client enables them for a region, the update for that region
/// follows each refresh that changed something in it, with no request. Flow control: the next
/// update starts only once the last one has left the server's buffer for the socket, and the
/// socket takes an update only once it has sent everything before it (TCP_NOTSENT_LOWAT), so
/// at most one update waits in the socket and one in the server; meanwhile what changes
/// gathers in the client's dirty bits and goes out as one update when the socket drains. The
/// guest and the other clients never wait for a slow one.
///
/// Fences are answered in order with the updates: a reply (or an EndOfContinuousUpdates)
/// that comes while an update is being written goes out right after it. Messages are handled
/// one after another as they arrive, so BlockBefore holds by itself; BlockAfter stops handling
/// (and reading) the client's messages while its reply waits behind an update; SyncNext's
/// reply follows the next message, and since a SetPixelFormat or SetEncodings applies from the
/// next update on and an update a message asks for starts only after the messages that arrived
/// with it, the reply separates what the message affects from what it does not.
extension RFBConnection {
    /// After SetEncodings: a client that lists Fence gets one ServerFence, and one that lists
    /// ContinuousUpdates one EndOfContinuousUpdates, the first time.
    func announceExtensions() {
        let c = encoder.choice
        if c.fence && !continuous.announcedFence {
            continuous.announcedFence = true
            sendInOrder(ContinuousServerMessage.probe)
        }
        if c.continuousUpdates && !continuous.announcedContinuous {
            continuous.announcedContinuous = true
            sendInOrder(ContinuousServerMessage.endOfContinuousUpdates)
        }
    }

    /// EnableContinuousUpdates: start (or move) continuous updates over `rect`, or stop them
    /// and say so with EndOfContinuousUpdates (even when they were not running, as RFB asks).
    func enableContinuousUpdates(_ enable: Bool, _ rect: RFBRect) {
        guard enable else {
            continuous.region = nil
            sendInOrder(ContinuousServerMessage.endOfContinuousUpdates)
            return
        }
        if continuous.region == nil { limitUnsentBytes() }
        continuous.region = rect
        // An incremental request waiting now is covered by the continuous updates.
        if pending?.incremental == true { pending = nil }
        wakeWanted = true
    }

    /// A ClientFence: a request is answered (SyncNext's after the next message); a reply to
    /// the server's own fence needs nothing.
    func fence(flags: UInt32, payload: [UInt8]) {
        guard flags & FenceFlags.request != 0 else { return }
        if flags & FenceFlags.syncNext != 0 {
            continuous.syncFence = (flags, payload)
            return
        }
        replyToFence((flags, payload))
    }

    func replyToFence(_ f: (flags: UInt32, payload: [UInt8])) {
        sendInOrder(ContinuousServerMessage.fence(flags: FenceFlags.reply(to: f.flags), payload: f.payload),
                    blockAfter: f.flags & FenceFlags.blockAfter != 0)
    }

    /// Sends `bytes` now, or right after the update being written when there is one.
    func sendInOrder(_ bytes: [UInt8], blockAfter: Bool = false) {
        guard encoder.isWriting else { return send(bytes) }
        continuous.held += bytes
        if blockAfter && !continuous.holding {
            continuous.holding = true
            _ = channel.setOption(ChannelOptions.autoRead, value: false)
        }
    }

    /// After an update: what waited for it goes out, and messages held by a BlockAfter fence
    /// are handled (on the next turn of the event loop, not inside the update's `wake`).
    func flushHeldMessages() {
        if !continuous.held.isEmpty {
            send(continuous.held)
            continuous.held = []
        }
        guard continuous.holding else { return }
        continuous.holding = false
        _ = channel.setOption(ChannelOptions.autoRead, value: true)
        channel.eventLoop.execute { [self] in handleMessages() }
    }

    /// The standing incremental request of continuous updates: while they run, once the last
    /// update has left the server's buffer for the socket.
    func continuousRequest() -> (incremental: Bool, rect: RFBRect)? {
        guard let region = continuous.region, unflushedUpdates == 0 else { return nil }
        return (true, region)
    }

    /// An update's last byte went to the socket (or the write failed).
    func updateFlushed() {
        unflushedUpdates -= 1
        if !backlogged { stalledSince = nil }
        if continuous.region != nil { wake() }
    }

    /// The socket takes an update's bytes only once it has sent all it held before
    /// (`TCP_NOTSENT_LOWAT` of 1 byte): the client's updates wait in the server, as dirty
    /// bits, not as a queue of old pictures in the kernel. Not for plain request-driven
    /// clients, which pace themselves.
    private func limitUnsentBytes() {
        _ = channel.setOption(ChannelOptions.tcpOption(.init(rawValue: CInt(TCP_NOTSENT_LOWAT))), value: 1)
    }
}

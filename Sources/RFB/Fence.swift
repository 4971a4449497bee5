/// The flags of RFB's Fence extension (TigerVNC; pseudo-encoding -312, ClientFence and
/// ServerFence, message 248).
public enum FenceFlags {
    /// Everything before the fence has taken effect before its reply is sent.
    public static let blockBefore: UInt32 = 1 << 0
    /// Nothing after the fence starts until its reply is sent.
    public static let blockAfter: UInt32 = 1 << 1
    /// The message after the fence acts atomically: the reply comes after it was handled,
    /// before anything it affects.
    public static let syncNext: UInt32 = 1 << 2
    /// A request (a reply clears it).
    public static let request: UInt32 = 1 << 31

    /// A reply's flags: the request's, less Request and any this server does not honour.
    public static func reply(to flags: UInt32) -> UInt32 { flags & (blockBefore | blockAfter | syncNext) }
}

/// The server's messages of the ContinuousUpdates and Fence extensions.
public enum ContinuousServerMessage {
    /// EndOfContinuousUpdates (message 150): sent once when a client first lists the
    /// ContinuousUpdates pseudo-encoding (so it learns the server understands it), and in
    /// answer to every EnableContinuousUpdates that disables them.
    public static let endOfContinuousUpdates: [UInt8] = [150]

    /// ServerFence (message 248): `flags`, then the payload (at most 64 bytes).
    public static func fence(flags: UInt32, payload: [UInt8]) -> [UInt8] {
        precondition(payload.count <= ClientMessageParser.maxFencePayload, "a fence payload is at most 64 bytes")
        var out: [UInt8] = [248, 0, 0, 0]
        appendU32(flags, to: &out)
        out.append(UInt8(payload.count))
        return out + payload
    }

    /// The ServerFence a client that lists the Fence pseudo-encoding first gets (RFB says the
    /// server should send one; TigerVNC's server sends this: a request with one byte, 0).
    public static let probe = fence(flags: FenceFlags.request, payload: [0])
}

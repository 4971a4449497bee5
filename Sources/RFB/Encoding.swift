/// RFB encoding numbers (RFC 6143 7.7 and the community registry).
public enum EncodingType {
    public static let raw: Int32 = 0
    public static let copyRect: Int32 = 1
    public static let tight: Int32 = 7
    public static let zrle: Int32 = 16
    public static let desktopSize: Int32 = -223
    public static let lastRect: Int32 = -224
    /// ExtendedDesktopSize: the client copes with size and layout changes (told with reason
    /// and status) and may send SetDesktopSize; replaces DesktopSize for a client listing both.
    public static let extendedDesktopSize: Int32 = -308
    /// QEMU Extended Key Event: the client sends keys as XT codes; the server says it
    /// understands them with an empty rectangle of this encoding.
    public static let qemuExtendedKeyEvent: Int32 = -258
    /// Fence (TigerVNC): the client sends and answers ClientFence / ServerFence messages.
    public static let fence: Int32 = -312
    /// ContinuousUpdates (TigerVNC): the client may send EnableContinuousUpdates; the server
    /// says it understands them with one EndOfContinuousUpdates.
    public static let continuousUpdates: Int32 = -313
    /// Tight JPEG quality levels 0...9 (TightVNC).
    public static let qualityLevel0: Int32 = -32, qualityLevel9: Int32 = -23
    /// Fine-grained JPEG quality 0...100 (TurboVNC).
    public static let fineQuality0: Int32 = -512, fineQuality100: Int32 = -412
    /// JPEG chroma subsampling (TurboVNC): 1X, 4X (4:2:0), 2X (4:2:2), gray, 8X, 16X.
    public static let subsamp1X: Int32 = -768, subsamp16X: Int32 = -763
}

/// Which of its encodings a client gets: the first of Tight, ZRLE and Raw in the client's
/// own order of preference (Raw when it lists none of them), and which pseudo-encodings it
/// understands. With Tight, a JPEG quality (a quality level, or TurboVNC's fine quality)
/// turns on Tight's lossy JPEG for dense rectangles; without one Tight stays lossless.
public struct EncodingChoice: Equatable, Sendable {
    public var encoding: Int32 = EncodingType.raw
    public var desktopSize = false
    public var lastRect = false
    public var extendedDesktopSize = false
    public var qemuExtendedKeyEvent = false
    public var fence = false
    public var continuousUpdates = false
    /// Tight JPEG settings, when the client chose Tight and asked for a JPEG quality.
    public var jpeg: TightJPEGSettings?

    public init() {}

    public init(clientList: [Int32]) {
        encoding = clientList.first { [EncodingType.tight, EncodingType.zrle, EncodingType.raw].contains($0) } ?? EncodingType.raw
        desktopSize = clientList.contains(EncodingType.desktopSize)
        lastRect = clientList.contains(EncodingType.lastRect)
        extendedDesktopSize = clientList.contains(EncodingType.extendedDesktopSize)
        qemuExtendedKeyEvent = clientList.contains(EncodingType.qemuExtendedKeyEvent)
        fence = clientList.contains(EncodingType.fence)
        continuousUpdates = clientList.contains(EncodingType.continuousUpdates)
        guard encoding == EncodingType.tight else { return }
        // The first of each kind counts (TigerVNC's reading); fine quality overrides the
        // level's quality, an explicit subsampling the level's subsampling. 8X and 16X, which
        // libjpeg cannot do, become 4:2:0. Fine quality 0 means "no fine quality" (TurboVNC).
        let level = clientList.first { (EncodingType.qualityLevel0...EncodingType.qualityLevel9).contains($0) }
        let fine = clientList.first { (EncodingType.fineQuality0 + 1...EncodingType.fineQuality100).contains($0) }
        let sub = clientList.first { (EncodingType.subsamp1X...EncodingType.subsamp16X).contains($0) }
        guard level != nil || fine != nil else { return }
        var s = TightJPEGSettings(level: Int((level ?? EncodingType.qualityLevel0 + 8) - EncodingType.qualityLevel0))
        if let fine { s.quality = Int(fine - EncodingType.fineQuality0) }
        if let sub {
            switch sub - EncodingType.subsamp1X {
            case 0: s.subsampling = .none
            case 2: s.subsampling = .chroma422
            case 3: s.subsampling = .gray
            default: s.subsampling = .chroma420
            }
        }
        jpeg = s
    }

    public var name: String {
        switch encoding {
        case EncodingType.tight: return "Tight"
        case EncodingType.zrle: return "ZRLE"
        default: return "Raw"
        }
    }
}

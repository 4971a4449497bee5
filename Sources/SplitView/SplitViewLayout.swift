import Display

/// Colours and spacing of the split view.
enum SplitViewStyle {
    static let margin = 16
    static let headerHeight = 44
    static let panelWidth = 520
    static let minimumBodyHeight = 300
    static let captionLineHeight = 12

    static let background: UInt32 = 0x16_181D
    static let panel: UInt32 = 0x1F_2229
    static let frame: UInt32 = 0x3A_3F4B
    static let text: UInt32 = 0xD8_DEE9
    static let dimText: UInt32 = 0x8A_93A6
    static let displayAccent: UInt32 = 0xFF_6B5B
    static let migrationAccent: UInt32 = 0xFF_B347
    static let litCell: UInt32 = 0xFF_B347
    static let cleanCell: UInt32 = 0x33_3843
}

/// The canvas size `renderSplitView` needs for a screen of `geometry` and `captionLines` lines
/// of caption.
public func splitViewCanvasSize(for geometry: FramebufferGeometry, captionLines: Int) -> (width: Int, height: Int) {
    typealias S = SplitViewStyle
    let body = max(geometry.height, S.minimumBodyHeight)
    let captions = captionLines > 0 ? captionLines * S.captionLineHeight + S.margin / 2 : 0
    return (S.margin * 4 + geometry.width + S.panelWidth,
            S.margin * 2 + S.headerHeight + body + captions)
}

/// Where `renderSplitView` puts the guest screen (unscaled) on its canvas.
public func splitViewScreenRect(for geometry: FramebufferGeometry) -> TileRect {
    TileRect(x: SplitViewStyle.margin, y: SplitViewStyle.margin + SplitViewStyle.headerHeight, width: geometry.width, height: geometry.height)
}

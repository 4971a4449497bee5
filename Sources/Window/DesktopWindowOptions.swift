extension DesktopWindow {
    /// What the window shows besides the screen.
    public struct Options: Sendable {
        /// Window title.
        public var title: String
        /// Whole-number zoom, nearest-neighbour, instead of filtered scaling to fit.
        public var nearest: Bool
        /// Start with repainted tiles tinted (D toggles).
        public var showDirty: Bool
        /// Show the split view (screen beside the migration panel) instead of the bare screen.
        public var split: Bool
        /// Caption lines under the split view.
        public var captionLines: Int
        /// Frames a repaint stays tinted.
        public var heatWindow: Int
        /// How the surface reaches the screen.
        public var presentPath: PresentPath

        public init(title: String = "Ringside", nearest: Bool = false, showDirty: Bool = false, split: Bool = false,
                    captionLines: Int = 1, heatWindow: Int = 8, presentPath: PresentPath = .native) {
            self.title = title
            self.nearest = nearest
            self.showDirty = showDirty
            self.split = split
            self.captionLines = captionLines
            self.heatWindow = heatWindow
            self.presentPath = presentPath
        }
    }
}

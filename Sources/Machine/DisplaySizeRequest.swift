import Input

extension Machine {
    /// The host's window would like the screen to be `width` x `height`: if the guest said it
    /// follows such requests (RS_GUEST_FOLLOWS_DISPLAY_SIZE), queues a display-size event for
    /// it, the size clamped to 64x64 ... the largest mode. The guest may answer with a mode
    /// set (as virtio-gpu's display-info events let Linux follow a resized window). Returns
    /// the size asked for, or nil when the guest does not follow or already has that mode.
    @discardableResult
    public func askForDisplaySize(width: Int, height: Int) -> DisplayMode? {
        guard input.guestFollowsDisplaySize else { return nil }
        let limit = config.maxModeSize
        let want = DisplayMode(width: min(max(width, DisplayMode.minWidth), limit.width),
                               height: min(max(height, DisplayMode.minHeight), limit.height))
        let now = displayMode.mode
        guard want.width != now.width || want.height != now.height else { return nil }
        input.push(.displaySize(width: Int32(want.width), height: Int32(want.height)))
        return want
    }
}

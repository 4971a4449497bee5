import Machine
import RFB

/// A VNC client's SetDesktopSize, answered as the window's resize is: a guest that follows
/// display-size requests (RS_GUEST_FOLLOWS_DISPLAY_SIZE) is sent a display-size event for
/// that size and may answer with a mode set. Limits: the smallest mode (64x64) and the
/// largest the guest may set (`--max-framebuffer`, default 7680x4320); `--fixed-mode` turns
/// resizing off for VNC clients as for the window.
public final class VNCDesktopResizer: DesktopResizer {
    private let machine: Machine
    private let fixedMode: Bool

    public init(machine: Machine, fixedMode: Bool) {
        self.machine = machine
        self.fixedMode = fixedMode
    }

    public func requestDesktopSize(width: Int, height: Int) -> DesktopResizeAnswer {
        if fixedMode { return .refused(.prohibited, "ringside runs with --fixed-mode") }
        guard machine.input.guestFollowsDisplaySize else {
            return .refused(.prohibited, "the guest does not follow display-size requests (RS_GUEST_FOLLOWS_DISPLAY_SIZE)")
        }
        let limit = machine.config.maxModeSize
        if width > limit.width || height > limit.height {
            return .refused(.outOfResources, "larger than the largest mode, \(limit.width)x\(limit.height) (--max-framebuffer)")
        }
        if width < DisplayMode.minWidth || height < DisplayMode.minHeight {
            return .refused(.invalidLayout, "smaller than the smallest mode, \(DisplayMode.minWidth)x\(DisplayMode.minHeight)")
        }
        return machine.askForDisplaySize(width: width, height: height) == nil ? .unchanged : .asked
    }
}

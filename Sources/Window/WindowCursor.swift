import Display
internal import CSDL

extension DesktopWindow {
    /// Shows the guest's cursor plane as the host's cursor over the window: a new shape becomes
    /// an SDL colour cursor, a hidden one hides it, no plane leaves the system's arrow. The
    /// position is the host pointer's own (the guest's follows the pointer the window sends).
    /// Call on the window's thread, once per presented frame; it does nothing when unchanged.
    public func showCursor(_ cursor: CursorState?) {
        guard let c = cursor else {
            if hostCursor != nil { csdl_default_cursor() }
            hostCursor = nil
            return
        }
        if hostCursor?.shape != c.shape {
            let s = c.shape
            let ok = s.pixels.withUnsafeBufferPointer { csdl_set_color_cursor($0.baseAddress!, Int32(s.width), Int32(s.height), Int32(s.hotX), Int32(s.hotY)) }
            guard ok == 0 else { return }
            hostCursor = (s, true)
        }
        if hostCursor?.visible != c.visible {
            csdl_show_cursor(c.visible ? 1 : 0)
            hostCursor?.visible = c.visible
        }
    }
}

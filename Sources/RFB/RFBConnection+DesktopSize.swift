import Display
import NIOCore

/// A client's ExtendedDesktopSize state (pseudo-encoding -308): the rectangles it is owed,
/// and its SetDesktopSize waiting for the guest's mode set.
struct DesktopSizeState {
    /// ExtendedDesktopSize rectangles to send, in order, in an update of their own.
    var due: [ExtendedDesktopSize] = []
    /// The request the guest was asked for, and the timer that refuses it if no mode comes.
    var waiting: DesktopSizeRequest?
    var timer: Scheduled<Void>?
}

/// ExtendedDesktopSize: a client that lists -308 is told the layout (reason 0) in answer to
/// each non-incremental request, and every size change, in an update that holds nothing
/// else (RFB's rule) and goes out as soon as the connection is not in the middle of another
/// update, request or not (as TigerVNC's server does). Its SetDesktopSize asks the guest
/// through `RFBServerOptions.desktopResizer`; the answer waits for the guest's mode set: the
/// asker then gets reason 1 with its own layout, every other -308 client reason 2 (and a
/// client with only DesktopSize a -223 rectangle, as for any change). A refusal (status 1,
/// 2 or 3, with one log line) goes to the asker only.
extension RFBConnection {
    /// The size clients were last told about (the surface's newest frame).
    private var shownGeometry: FramebufferGeometry { server.surface.latest?.geometry ?? server.source.geometry }

    /// A SetDesktopSize: checked, then passed to the guest or refused.
    func setDesktopSize(_ r: DesktopSizeRequest) {
        wakeWanted = true
        if let why = r.invalidity { return refuseResize(r, .invalidLayout, why) }
        guard let resizer = server.options.desktopResizer else {
            return refuseResize(r, .prohibited, "this display is not resizable")
        }
        switch resizer.requestDesktopSize(width: r.width, height: r.height) {
        case .refused(let status, let why):
            refuseResize(r, status, why)
        case .unchanged:
            let g = shownGeometry
            desktopSize.due.append(ExtendedDesktopSize(reason: .thisClient, status: .success, width: g.width, height: g.height,
                                                       screens: r.screens))
        case .asked:
            // Every SetDesktopSize gets its answer (RFB's rule): one still waiting is replaced.
            if let old = desktopSize.waiting { refuseResize(old, .outOfResources, "a newer SetDesktopSize from the client replaced it") }
            desktopSize.timer?.cancel()
            desktopSize.waiting = r
            server.noteResizeAsk(self, width: r.width, height: r.height)
            server.log("VNC client \(peer) asked for a \(r.width)x\(r.height) desktop: the guest was asked for that mode")
            let timeout = server.options.desktopResizeTimeout
            desktopSize.timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { [self] in
                desktopSize.timer = nil
                guard let w = desktopSize.waiting else { return }
                desktopSize.waiting = nil
                refuseResize(w, .outOfResources, "the guest set no \(w.width)x\(w.height) mode within \(timeout) s")
                wake()
            }
        }
    }

    /// Tells only this client that its request failed (with the size it has now).
    private func refuseResize(_ r: DesktopSizeRequest, _ status: DesktopSizeStatus, _ why: String) {
        server.log("VNC client \(peer): SetDesktopSize \(r.width)x\(r.height) refused (status \(status.rawValue)): \(why)")
        let g = shownGeometry
        desktopSize.due.append(.single(width: g.width, height: g.height, reason: .thisClient, status: status))
    }

    /// A non-incremental request from a -308 client: it is told the layout first (reason 0).
    func layoutRequested() {
        guard encoder.choice.extendedDesktopSize else { return }
        let g = shownGeometry
        desktopSize.due.append(.single(width: g.width, height: g.height, reason: .server))
    }

    /// The geometry became `g` since this client was last told (it has -308): the asker's
    /// answer (its own layout), another client's change (reason 2), or the guest's own.
    func desktopSizeChanged(to g: FramebufferGeometry) {
        if let w = desktopSize.waiting, w.width == g.width, w.height == g.height {
            desktopSize.waiting = nil
            desktopSize.timer?.cancel()
            desktopSize.timer = nil
            desktopSize.due.append(ExtendedDesktopSize(reason: .thisClient, status: .success, width: g.width, height: g.height,
                                                       screens: w.screens))
            return
        }
        let other = server.resizeAskedByAnother(than: self, width: g.width, height: g.height)
        desktopSize.due.append(.single(width: g.width, height: g.height, reason: other ? .otherClient : .server))
    }

    /// Sends the ExtendedDesktopSize rectangles due, as one update of their own (only between
    /// updates: never inside one). A client that did not list -308 is sent none (its
    /// SetDesktopSize still asks the guest, as QEMU lets it).
    func sendDesktopSizesDue() {
        guard encoder.choice.extendedDesktopSize else { return desktopSize.due = [] }
        guard !desktopSize.due.isEmpty, !encoder.isWriting else { return }
        send(ExtendedDesktopSize.update(desktopSize.due, allocator: channel.allocator), readAt: nil)
        desktopSize.due = []
    }

    /// The connection closed: its timer goes.
    func endDesktopSize() {
        desktopSize.timer?.cancel()
        desktopSize.timer = nil
    }
}

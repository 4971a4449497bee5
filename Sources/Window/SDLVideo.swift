#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
internal import CSDL

/// How window surfaces reach the screen. SDL fixes this when its video subsystem starts, so
/// every window open at the same time shares one path.
public enum PresentPath: Sendable, Equatable, CustomStringConvertible {
    /// The video driver's own framebuffer (`SDL_HINT_FRAMEBUFFER_ACCELERATION=0`; on X11 an
    /// MIT-SHM image and `XShmPutImage` of each updated rectangle). The default: under Xvfb
    /// it presents a few tiles in ~0.06 ms and a 1280x800 frame in ~0.5 ms.
    case native
    /// SDL's default on X11: the window surface is a streaming texture of an SDL renderer
    /// (opengl, on llvmpipe under Xvfb), ~6-8 ms per present whatever the size. For comparison.
    case accelerated

    public var description: String { self == .native ? "native framebuffer" : "SDL texture framebuffer" }
}

/// SDL's video subsystem, started with the first window and stopped with the last.
/// Windows live on one thread (SDL's rule for the main thread); the count is locked anyway.
enum SDLVideo {
    /// Windows open now, and the present path SDL was started with.
    private static let users = Mutex<(count: Int, path: PresentPath)>((0, .native))

    static func acquire(_ wanted: PresentPath) throws(WindowError) {
        try users.withLock { (users) throws(WindowError) in
            if users.count > 0 && wanted != users.path {
                throw .windowFailed("another window already presents by \(users.path)")
            }
            if users.count == 0 {
                var message = [CChar](repeating: 0, count: 512)
                let rc = message.withUnsafeMutableBufferPointer {
                    csdl_video_init(wanted == .native ? CSDL_PRESENT_NATIVE : CSDL_PRESENT_ACCELERATED,
                                    $0.baseAddress, $0.count)
                }
                if rc != 0 {
                    let display = ProcessInfo.processInfo.environment["DISPLAY"]
                    throw .videoUnavailable(display: display, reason: text(message))
                }
                users.path = wanted
            }
            users.count += 1
        }
    }

    static func release() {
        users.withLock { users in
            users.count -= 1
            if users.count == 0 { csdl_video_quit() }
        }
    }

    /// The driver in use, e.g. "x11".
    static var driver: String { String(cString: csdl_video_driver()) }

    /// Usable size of the first display, nil when SDL does not know it.
    static var usableSize: (width: Int, height: Int)? {
        var w: Int32 = 0, h: Int32 = 0
        csdl_usable_size(&w, &h)
        return w > 0 && h > 0 ? (Int(w), Int(h)) : nil
    }

    static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

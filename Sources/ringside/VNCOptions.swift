import ArgumentParser
import Display
import Foundation
import Input
import RFB
import Tracking

/// `--vnc`, `--vnc-password-file`, `--vnc-insecure` (for `run` and `receive`).
struct VNCOptions: ParsableArguments {
    @Option(name: .customLong("vnc"),
            help: ArgumentHelp("Serve the screen to VNC clients on [ADDR]:PORT, or on :N meaning port 5900+N (QEMU's convention). ADDR defaults to 127.0.0.1; port 0 picks a free port and prints it.",
                               valueName: "addr:port"))
    var vnc: String?
    @Option(name: .customLong("vnc-password-file"),
            help: ArgumentHelp("Require VNC Authentication with the password on the first line of FILE (VNC uses its first 8 characters).", valueName: "file"))
    var passwordFile: String?
    @Flag(name: .customLong("vnc-insecure"), help: "Allow --vnc or --vnc-websocket on a non-loopback address without a password.")
    var insecure = false
    @Option(name: .customLong("vnc-websocket"),
            help: ArgumentHelp("Serve RFB over WebSocket on [ADDR]:PORT for noVNC, and noVNC's own files from /usr/share/novnc when installed (open http://ADDR:PORT/vnc.html).",
                               valueName: "addr:port"))
    var websocket: String?

    /// Where and how to serve.
    struct Plan {
        var tcp: (host: String, port: Int)?
        var websocket: (host: String, port: Int)?
        var password: [UInt8]?
    }

    /// Where to listen and with which password, or nil without --vnc. One line per mistake.
    func plan() throws -> Plan? {
        guard vnc != nil || websocket != nil else {
            if passwordFile != nil { Console.error("warning: --vnc-password-file has no effect without --vnc") }
            return nil
        }
        var tcp: (host: String, port: Int)?
        if let vnc {
            if vnc.hasPrefix(":"), let n = Int(vnc.dropFirst()) {
                guard (0...(65535 - 5900)).contains(n) else { throw Failure("--vnc '\(vnc)': display :N must be 0...\(65535 - 5900) (port 5900+N)") }
                tcp = ("127.0.0.1", 5900 + n)
            } else {
                tcp = try parseAddress(vnc, option: "--vnc", defaultHost: "127.0.0.1", allowPortZero: true)
            }
        }
        let ws: (host: String, port: Int)? = try websocket.map { try parseAddress($0, option: "--vnc-websocket", defaultHost: "127.0.0.1", allowPortZero: true) }
        var password: [UInt8]?
        if let passwordFile {
            let text: String
            do { text = try String(contentsOfFile: passwordFile, encoding: .utf8) } catch {
                throw Failure("--vnc-password-file \(passwordFile): cannot read it (\((error as NSError).localizedDescription))")
            }
            let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let p = line.hasSuffix("\r") ? String(line.dropLast()) : line
            guard !p.isEmpty else { throw Failure("--vnc-password-file \(passwordFile): the first line is empty: put the password there") }
            if p.utf8.count > 8 { Console.error("warning: VNC Authentication uses only the first 8 bytes of the password in \(passwordFile)") }
            password = Array(p.utf8)
        }
        func loopback(_ host: String) -> Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }
        for (option, address) in [("--vnc", tcp), ("--vnc-websocket", ws)] {
            if let address, !loopback(address.host), password == nil, !insecure {
                throw Failure("\(option) \(formatAddress(address.host, address.port)) listens beyond this machine without a password: give --vnc-password-file FILE, or --vnc-insecure to allow it")
            }
        }
        return Plan(tcp: tcp, websocket: ws, password: password)
    }
}

/// The tracking session as the RFB server's framebuffer: the server's surface reads the
/// session's damage through one display sink, under the session's lock.
final class TrackingFramebufferSource: FramebufferSource, @unchecked Sendable {
    let session: TrackingSession
    let desktopName: String
    init(session: TrackingSession, name: String) {
        self.session = session
        desktopName = name
    }
    var geometry: FramebufferGeometry { session.withDisplay { $0.shadow.geometry } }
    func makeReader(name: String) -> any FramebufferReader { SinkReader(session: session, sink: session.makeDisplaySink(name: name)) }
    func onChange(_ body: @escaping @Sendable () -> Void) { session.onSync(body) }

    final class SinkReader: FramebufferReader, @unchecked Sendable {
        let session: TrackingSession
        let sink: DisplaySink
        init(session: TrackingSession, sink: DisplaySink) {
            self.session = session
            self.sink = sink
        }
        func read(_ body: (FrameView, DirtyTileBitmap) -> Void) {
            session.read(sink) { d, dirty in
                d.shadow.withUnsafeBytes { body(FrameView(geometry: d.shadow.geometry, grid: d.grid, bytes: $0), dirty) }
            }
        }
    }
}

/// A running VNC server for one run, with its `--stats` line.
final class VNCService {
    let server: RFBServer
    private var timer: DispatchSourceTimer?
    private var last: (bytes: UInt64, updates: UInt64, nanos: UInt64) = (0, 0, 0)

    /// Starts the server for a plan from `VNCOptions.plan()`. Prints where it listens.
    static func start(_ plan: VNCOptions.Plan, session: TrackingSession, input: any InputSink, stats: Bool) throws -> VNCService {
        var o = RFBServerOptions()
        o.host = plan.tcp?.host ?? "127.0.0.1"
        o.port = plan.tcp?.port ?? 0
        o.listensTCP = plan.tcp != nil
        o.password = plan.password
        let source = TrackingFramebufferSource(session: session, name: "ringside: \(session.machine.config.image.name)")
        let server: RFBServer
        do {
            server = try RFBServer(source: source, options: o, input: input, log: { Console.out($0) })
        } catch { throw Failure("\(error)") }
        if let tcp = plan.tcp {
            Console.out("VNC server on \(formatAddress(tcp.host, server.port))" + (plan.password != nil ? " (VNC Authentication)" : ""))
        }
        if let ws = plan.websocket {
            let root = "/usr/share/novnc"
            let files = FileManager.default.fileExists(atPath: root + "/vnc.html") ? root : nil
            let port: Int
            do { port = try server.listenWebSocket(host: ws.host, port: ws.port, webRoot: files) } catch {
                server.stop()
                throw Failure("\(error)")
            }
            Console.out("VNC over WebSocket on \(formatAddress(ws.host, port))"
                + (files != nil ? ": open http://\(formatAddress(ws.host, port))/vnc.html" : " (noVNC's files are not installed: apt-get install novnc)"))
        }
        let s = VNCService(server: server)
        if stats {
            let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "ringside.vnc-stats"))
            t.schedule(deadline: .now() + 1, repeating: 1)
            t.setEventHandler { [s] in
                let (b, u, ns) = (s.server.bytesSent, s.server.updatesSent, s.server.encodeNanoseconds)
                let du = max(1, u - s.last.updates)
                Console.out(String(format: "vnc: %d clients, %d updates/s, %.1f KiB/s sent, %.1f KiB and %.0f us to find and encode per update",
                                   s.server.clientCount, u - s.last.updates, Double(b - s.last.bytes) / 1024,
                                   Double(b - s.last.bytes) / 1024 / Double(du), Double(ns - s.last.nanos) / 1000 / Double(du)))
                s.last = (b, u, ns)
            }
            t.resume()
            s.timer = t
        }
        return s
    }

    private init(server: RFBServer) { self.server = server }

    private var titleLast: (bytes: UInt64, at: Date) = (0, Date())
    /// For the window title, about once a second (from one thread): "VNC: N clients, X KiB/s"
    /// with the bytes sent per second since the previous call.
    func titleCaption() -> String {
        let now = Date(), b = server.bytesSent
        let rate = Double(b - titleLast.bytes) / 1024 / max(0.001, now.timeIntervalSince(titleLast.at))
        titleLast = (b, now)
        let n = server.clientCount
        return String(format: "VNC: %d client%@, %.1f KiB/s", n, n == 1 ? "" : "s", rate)
    }

    /// After --frames N without a window, keeps serving the final frame (as the window keeps
    /// showing it) until Ctrl-C, SIGTERM or --seconds.
    func holdFinalFrame(until stopped: () -> Bool) {
        Console.out("frames done: serving the final frame to VNC clients until Ctrl-C or --seconds")
        while !stopped() { usleep(20_000) }
    }

    func stop() {
        timer?.cancel()
        server.stop()
        Console.out(String(format: "vnc: %.1f MiB sent in all", Double(server.bytesSent) / 1048576))
    }
}

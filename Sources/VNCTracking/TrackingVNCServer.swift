import Foundation
import Input
import RFB
import Synchronization
import Tracking

/// Where a VNC server listens: plain RFB, RFB over WebSocket for noVNC, or both.
public struct VNCListenPlan: Sendable {
    public var tcp: (host: String, port: Int)?
    public var websocket: (host: String, port: Int)?
    /// VNC Authentication with this password, or security None.
    public var password: [UInt8]?
    /// TLS for both ports (VeNCrypt on the RFB port, `wss://` on the WebSocket port), or none.
    public var tls: RFBTLSIdentity?
    /// noVNC's files, served on the WebSocket port when the directory holds `vnc.html`.
    public var webRoot = "/usr/share/novnc"
    /// Wrong passwords before an address is blocked and the first block (seconds): the
    /// `RFBServerOptions` defaults unless set.
    public var authBlockAfter = RFBServerOptions().authBlockAfter
    public var authBlockSeconds = RFBServerOptions().authBlockSeconds
    /// The most connections at once.
    public var maxClients = RFBServerOptions().maxClients

    public init(tcp: (host: String, port: Int)?, websocket: (host: String, port: Int)?, password: [UInt8]?) {
        self.tcp = tcp
        self.websocket = websocket
        self.password = password
    }
}

/// An RFB server on a tracking session: what `ringside run` and `receive` serve with `--vnc`,
/// and what the benchmark measures. Listens, and counts for a rate line; never prints.
public final class TrackingVNCServer: Sendable {
    public let server: RFBServer
    /// The plain RFB port bound, when listening for TCP clients.
    public let tcpPort: Int?
    /// The WebSocket port bound, and whether noVNC's files are served there.
    public let webSocketPort: Int?
    public let servesNoVNCFiles: Bool

    /// Starts serving `session` (its desktop called `name`) to clients as `plan` says; input
    /// from clients goes to `input`, log lines to `log`.
    public init(session: TrackingSession, name: String, plan: VNCListenPlan, input: (any InputSink)?,
                options base: RFBServerOptions = RFBServerOptions(), log: @escaping @Sendable (String) -> Void) throws(RFBServerError) {
        var o = base
        o.host = plan.tcp?.host ?? "127.0.0.1"
        o.port = plan.tcp?.port ?? 0
        o.listensTCP = plan.tcp != nil
        o.password = plan.password
        o.tls = plan.tls
        o.authBlockAfter = plan.authBlockAfter
        o.authBlockSeconds = plan.authBlockSeconds
        o.maxClients = plan.maxClients
        let server = try RFBServer(source: TrackingFramebufferSource(session: session, name: name), options: o, input: input, log: log)
        tcpPort = plan.tcp != nil ? server.port : nil
        var files = false
        if let ws = plan.websocket {
            files = FileManager.default.fileExists(atPath: plan.webRoot + "/vnc.html")
            do { webSocketPort = try server.listenWebSocket(host: ws.host, port: ws.port, webRoot: files ? plan.webRoot : nil) } catch {
                server.stop()
                throw error
            }
        } else {
            webSocketPort = nil
        }
        servesNoVNCFiles = files
        self.server = server
    }

    public func stop() { server.stop() }
}

/// The server's counters between two samples, for a once-a-second line.
public struct VNCRates: Sendable {
    public var clients = 0
    public var updates: UInt64 = 0
    public var bytes: UInt64 = 0
    public var encodeNanos: UInt64 = 0
    public var seconds = 0.0

    /// Bytes and microseconds to find and encode, per update (0 without updates).
    public var kibPerUpdate: Double { updates == 0 ? 0 : Double(bytes) / 1024 / Double(updates) }
    public var microsPerUpdate: Double { updates == 0 ? 0 : Double(encodeNanos) / 1000 / Double(updates) }
}

/// Takes `VNCRates` samples of a server: each the difference from the one before.
public final class VNCRateSampler: Sendable {
    private struct Counters {
        var bytes: UInt64, updates: UInt64, nanos: UInt64
        var at: Date
    }
    private let server: RFBServer
    /// The counters at the previous sample.
    private let last: Mutex<Counters>

    public init(_ server: RFBServer) {
        self.server = server
        last = Mutex(Counters(bytes: server.bytesSent, updates: server.updatesSent, nanos: server.encodeNanoseconds, at: Date()))
    }

    public func sample() -> VNCRates {
        let now = Counters(bytes: server.bytesSent, updates: server.updatesSent, nanos: server.encodeNanoseconds, at: Date())
        let before = last.withLock { previous in
            defer { previous = now }
            return previous
        }
        return VNCRates(clients: server.clientCount, updates: now.updates - before.updates, bytes: now.bytes - before.bytes,
                        encodeNanos: now.nanos - before.nanos, seconds: max(0.001, now.at.timeIntervalSince(before.at)))
    }
}

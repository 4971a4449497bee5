import ArgumentParser
import Foundation
import Input
import RFB
import Tracking
import VNCTracking

/// `--vnc`, `--vnc-password-file`, `--vnc-insecure` and the VNC limits (for `run` and `receive`).
struct VNCOptions: ParsableArguments {
    @Option(name: .customLong("vnc"),
            help: ArgumentHelp("Serve the screen to VNC clients on [ADDR]:PORT, or on :N meaning port 5900+N (QEMU's convention). ADDR defaults to 127.0.0.1; port 0 picks a free port and prints it.",
                               valueName: "addr:port"))
    var vnc: String?
    @Option(name: .customLong("vnc-password-file"),
            help: ArgumentHelp("Require VNC Authentication with the password on the first line of FILE, without its line ending (LF or CRLF); VNC uses its first 8 characters.", valueName: "file"))
    var passwordFile: String?
    @Flag(name: .customLong("vnc-insecure"), help: "Allow --vnc or --vnc-websocket on a non-loopback address without a password, or with a password but without TLS (with a warning).")
    var insecure = false
    @Option(name: .customLong("vnc-tls-cert"),
            help: ArgumentHelp("TLS with the certificate chain in FILE (PEM, the server's first): --vnc offers only VeNCrypt (X509Vnc and X509Plain with --vnc-password-file, else X509None), --vnc-websocket speaks only wss://. Needs --vnc-tls-key.", valueName: "file"))
    var tlsCertificate: String?
    @Option(name: .customLong("vnc-tls-key"), help: ArgumentHelp("The private key of --vnc-tls-cert (PEM, unencrypted).", valueName: "file"))
    var tlsKey: String?
    @Option(name: .customLong("vnc-websocket"),
            help: ArgumentHelp("Serve RFB over WebSocket on [ADDR]:PORT for noVNC, and noVNC's own files from /usr/share/novnc when installed (open http://ADDR:PORT/vnc.html).",
                               valueName: "addr:port"))
    var websocket: String?
    @Option(name: .customLong("vnc-auth-block-after"),
            help: ArgumentHelp("Refuse a client address after N wrong VNC passwords in a row (default 5, as TigerVNC; 0: never); it is told why before any challenge.", valueName: "n"),
            transform: NumericOptions.int("--vnc-auth-block-after", NumericOptions.vncAuthBlockAfter))
    var authBlockAfter = RFBServerOptions().authBlockAfter
    @Option(name: .customLong("vnc-auth-block-seconds"),
            help: ArgumentHelp("How long the first such refusal lasts (default 10); each wrong password after one ends doubles it, up to a day.", valueName: "seconds"),
            transform: NumericOptions.double("--vnc-auth-block-seconds", NumericOptions.vncAuthBlockSeconds, unit: " seconds"))
    var authBlockSeconds = RFBServerOptions().authBlockSeconds
    @Option(name: .customLong("vnc-max-clients"),
            help: ArgumentHelp("Serve at most N VNC connections at once, in the handshake or connected (default 32, as QEMU); one more is told why in the handshake and closed, with a line in the log.", valueName: "n"),
            transform: NumericOptions.int("--vnc-max-clients", NumericOptions.vncMaxClients))
    var maxClients = RFBServerOptions().maxClients

    /// Where to listen and with which password, or nil without --vnc. One line per mistake.
    func plan() throws -> VNCListenPlan? {
        guard vnc != nil || websocket != nil else {
            if passwordFile != nil { Console.error("warning: --vnc-password-file has no effect without --vnc") }
            if tlsCertificate != nil || tlsKey != nil { Console.error("warning: --vnc-tls-cert and --vnc-tls-key have no effect without --vnc or --vnc-websocket") }
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
        let password = try passwordFile.map(Self.readPassword)
        let tls = try loadTLS()
        try checkExposure([("--vnc", tcp), ("--vnc-websocket", ws)], password: password != nil, tls: tls != nil)
        var plan = VNCListenPlan(tcp: tcp, websocket: ws, password: password)
        plan.tls = tls
        plan.authBlockAfter = authBlockAfter
        plan.authBlockSeconds = authBlockSeconds
        plan.maxClients = maxClients
        return plan
    }

    /// The rule for addresses beyond this machine (non-loopback): allowed with TLS and a
    /// password; refused without a password unless --vnc-insecure; with a password but no TLS
    /// allowed as before TLS existed, with a warning (silenced by --vnc-insecure).
    private func checkExposure(_ listeners: [(String, (host: String, port: Int)?)], password: Bool, tls: Bool) throws {
        func loopback(_ host: String) -> Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }
        for (option, address) in listeners {
            guard let address, !loopback(address.host), !insecure else { continue }
            let where_ = "\(option) \(formatAddress(address.host, address.port)) listens beyond this machine"
            if !password {
                throw Failure("\(where_) without a password: give --vnc-password-file FILE, or --vnc-insecure to allow it"
                    + (tls ? " (TLS alone lets anyone in)" : ""))
            }
            if !tls {
                Console.error("warning: \(where_) without TLS: the screen, the keys and the DES-hashed password cross the network in the clear; give --vnc-tls-cert and --vnc-tls-key (or --vnc-insecure to accept it)")
            }
        }
    }

    /// The certificate and key of --vnc-tls-cert and --vnc-tls-key, or nil without them.
    private func loadTLS() throws -> RFBTLSIdentity? {
        switch (tlsCertificate, tlsKey) {
        case (nil, nil): return nil
        case (nil, _): throw Failure("--vnc-tls-key needs --vnc-tls-cert FILE (the certificate it belongs to)")
        case (_, nil): throw Failure("--vnc-tls-cert needs --vnc-tls-key FILE (its private key)")
        case (let cert?, let key?):
            do { return try RFBTLSIdentity(certificateFile: cert, keyFile: key) } catch {
                throw Failure("--vnc-tls-cert/--vnc-tls-key: \(error)")
            }
        }
    }

    /// The password in `path` (its first line without its line ending), with a warning line
    /// for control characters a client may not be able to type.
    static func readPassword(_ path: String) throws -> [UInt8] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Failure("--vnc-password-file \(path): cannot read it (\((error as NSError).localizedDescription))")
        }
        let file = VNCPasswordFile(contents: Array(data))
        guard !file.password.isEmpty else { throw Failure("--vnc-password-file \(path): the first line is empty: put the password there") }
        if !file.controlCharacters.isEmpty {
            Console.error("warning: the password in \(path) holds control characters (\(file.controlCharacterList)), kept as they are: a VNC client must send them too")
        }
        if file.password.count > 8 { Console.error("warning: VNC Authentication uses only the first 8 bytes of the password in \(path)") }
        return file.password
    }
}

/// A running VNC server for one run: prints where it listens and its `--stats` line.
final class VNCService {
    let vnc: TrackingVNCServer
    private var timer: DispatchSourceTimer?
    private let titleRates: VNCRateSampler

    /// Starts the server for a plan from `VNCOptions.plan()`. Prints where it listens.
    /// Clients' SetDesktopSize asks the guest as the window does (not with `fixedMode`).
    static func start(_ plan: VNCListenPlan, session: TrackingSession, input: any InputSink, stats: Bool, fixedMode: Bool) throws -> VNCService {
        let vnc: TrackingVNCServer
        var options = RFBServerOptions()
        options.desktopResizer = VNCDesktopResizer(machine: session.machine, fixedMode: fixedMode)
        do {
            vnc = try TrackingVNCServer(session: session, name: "ringside: \(session.machine.config.image.name)", plan: plan, input: input,
                                        options: options, log: { Console.out($0) })
        } catch { throw Failure("\(error)") }
        if let tcp = plan.tcp, let port = vnc.tcpPort {
            Console.out("VNC server on \(formatAddress(tcp.host, port))" + Self.securityNote(plan))
        }
        if let ws = plan.websocket, let port = vnc.webSocketPort {
            let web = plan.tls != nil ? "https" : "http"
            Console.out("VNC over WebSocket on \(formatAddress(ws.host, port))" + (plan.tls != nil ? " (TLS: wss://)" : "")
                + (vnc.servesNoVNCFiles ? ": open \(web)://\(formatAddress(ws.host, port))/vnc.html" : " (noVNC's files are not installed: apt-get install novnc)"))
        }
        let s = VNCService(vnc)
        if stats {
            let rates = VNCRateSampler(vnc.server)
            let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "ringside.vnc-stats"))
            t.schedule(deadline: .now() + 1, repeating: 1)
            t.setEventHandler {
                let r = rates.sample()
                Console.out(String(format: "vnc: %d clients, %d updates/s, %.1f KiB/s sent, %.1f KiB and %.0f us to find and encode per update",
                                   r.clients, r.updates, Double(r.bytes) / 1024, r.kibPerUpdate, r.microsPerUpdate))
            }
            t.resume()
            s.timer = t
        }
        return s
    }

    /// How clients of the RFB port authenticate, for its line.
    static func securityNote(_ plan: VNCListenPlan) -> String {
        if plan.tls != nil {
            return " (VeNCrypt: " + VeNCrypt.subtypes(password: plan.password != nil).map(\.name).joined(separator: ", ") + ")"
        }
        return plan.password != nil ? " (VNC Authentication)" : ""
    }

    private init(_ vnc: TrackingVNCServer) {
        self.vnc = vnc
        titleRates = VNCRateSampler(vnc.server)
    }

    /// For the window title, about once a second (from one thread): "VNC: N clients, X KiB/s"
    /// with the bytes sent per second since the previous call.
    func titleCaption() -> String {
        let r = titleRates.sample()
        return String(format: "VNC: %d client%@, %.1f KiB/s", r.clients, r.clients == 1 ? "" : "s", Double(r.bytes) / 1024 / r.seconds)
    }

    /// After --frames N without a window, keeps serving the final frame (as the window keeps
    /// showing it) until Ctrl-C, SIGTERM or --seconds.
    func holdFinalFrame(until stopped: () -> Bool) {
        Console.out("frames done: serving the final frame to VNC clients until Ctrl-C or --seconds")
        while !stopped() { usleep(20_000) }
    }

    func stop() {
        timer?.cancel()
        vnc.stop()
        Console.out(String(format: "vnc: %.1f MiB sent in all", Double(vnc.server.bytesSent) / 1048576))
    }
}

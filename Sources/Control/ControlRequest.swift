/// One request to a running guest's control socket (docs/control.md).
public enum ControlRequest: Equatable, Sendable {
    case status
    case pause
    case resume
    /// Migrate to `ringside receive` at host:port, as `--migrate-to` would, at once.
    case migrate(MigrateRequest)
    /// Cancel the migration in progress (the guest keeps running here).
    case cancel
    /// Write a snapshot to `file` (an absolute path); with `incremental`, only the pages
    /// dirtied since that snapshot, which must be the last one this guest wrote.
    case snapshot(file: String, incremental: String?)
    /// End the run cleanly, as Ctrl-C does.
    case quit

    public var command: String {
        switch self {
        case .status: return "status"
        case .pause: return "pause"
        case .resume: return "resume"
        case .migrate: return "migrate"
        case .cancel: return "cancel"
        case .snapshot: return "snapshot"
        case .quit: return "quit"
        }
    }

    /// The commands, in the order `ringside ctl --help` lists them.
    public static let commands = ["status", "pause", "resume", "migrate", "cancel", "snapshot", "quit"]

    /// The request as its words, which `parse(words:)` reads back as the same request.
    public var words: [String] {
        switch self {
        case .status, .pause, .resume, .cancel, .quit: return [command]
        case .migrate(let m): return [command] + m.words
        case .snapshot(let file, let base): return [command, file] + (base.map { ["--incremental", $0] } ?? [])
        }
    }

    /// The request as one line (without the newline).
    public var line: String { ControlWords.join(words) }

    /// Reads one request line (without its newline).
    public static func parse(line: [UInt8]) throws(ControlRequestError) -> ControlRequest {
        try parse(words: try ControlWords.split(line))
    }

    /// Reads a request from its words; every value is checked.
    public static func parse(words: [String]) throws(ControlRequestError) -> ControlRequest {
        guard let first = words.first else { throw .empty }
        let rest = Array(words.dropFirst())
        switch first {
        case "status", "pause", "resume", "cancel", "quit":
            guard rest.isEmpty else { throw .unexpected(first, rest[0]) }
            switch first {
            case "status": return .status
            case "pause": return .pause
            case "resume": return .resume
            case "cancel": return .cancel
            default: return .quit
            }
        case "migrate": return .migrate(try MigrateRequest(words: rest))
        case "snapshot": return try snapshot(rest)
        default: throw .unknownCommand(first)
        }
    }

    private static func snapshot(_ w: [String]) throws(ControlRequestError) -> ControlRequest {
        guard let file = w.first, !file.hasPrefix("--") else { throw .missing("snapshot", "FILE") }
        try checkPath(file, "FILE")
        var base: String?
        var i = 1
        while i < w.count {
            guard w[i] == "--incremental" else { throw .unexpected("snapshot", w[i]) }
            guard base == nil else { throw .repeated("--incremental") }
            guard i + 1 < w.count else { throw .missing("--incremental", "BASE") }
            base = w[i + 1]
            try checkPath(base!, "BASE")
            i += 2
        }
        if base == file { throw .invalid("--incremental", base!, "the base must be another file than the new snapshot") }
        return .snapshot(file: file, incremental: base)
    }

    /// The socket's process has its own working directory: paths must be absolute.
    static func checkPath(_ p: String, _ name: String) throws(ControlRequestError) {
        guard p.hasPrefix("/") else { throw .invalid(name, p, "give an absolute path (the guest's process has its own working directory)") }
        guard !p.hasSuffix("/"), p.utf8.count <= 4096 else { throw .invalid(name, p, "not a file path") }
    }
}

/// `migrate HOST:PORT [--max-downtime MS] [--max-bandwidth RATE] [--max-rounds N] [--migrate-compress auto|on|off]
/// [--auto-converge on|off] [--verify-migration]
/// [--migrate-tls-cert FILE --migrate-tls-key FILE] [--migrate-tls-ca FILE]` (absolute paths).
public struct MigrateRequest: Equatable, Sendable {
    public var host: String
    public var port: Int
    /// Milliseconds, 1...60000.
    public var maxDowntimeMS: Double?
    /// Bytes per second, at least 1 MiB.
    public var maxBandwidth: UInt64?
    /// 1...1000.
    public var maxRounds: Int?
    public var verify = false
    /// `auto`, `on` or `off` (nil: the default, auto).
    public var compress: String?
    /// `--auto-converge`: nil for the default (on).
    public var autoConverge: Bool?
    /// `--migrate-tls-cert`, `--migrate-tls-key`, `--migrate-tls-ca`: absolute paths.
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var tlsCA: String?

    /// The options that take a value, and the flag.
    static let options = ["--max-downtime", "--max-bandwidth", "--max-rounds", "--migrate-compress", "--auto-converge", "--verify-migration",
                          "--migrate-tls-cert", "--migrate-tls-key", "--migrate-tls-ca"]

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `HOST:PORT`, with an IPv6 host in brackets.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    var words: [String] {
        var w = [address]
        if let ms = maxDowntimeMS { w += ["--max-downtime", ms == ms.rounded() ? "\(Int(ms))" : "\(ms)"] }
        if let b = maxBandwidth { w += ["--max-bandwidth", "\(b)"] }
        if let n = maxRounds { w += ["--max-rounds", "\(n)"] }
        if let c = compress { w += ["--migrate-compress", c] }
        if let a = autoConverge { w += ["--auto-converge", a ? "on" : "off"] }
        if verify { w.append("--verify-migration") }
        for (o, v) in [("--migrate-tls-cert", tlsCertificate), ("--migrate-tls-key", tlsKey), ("--migrate-tls-ca", tlsCA)] {
            if let v { w += [o, v] }
        }
        return w
    }

    init(words w: [String]) throws(ControlRequestError) {
        guard let address = w.first, !address.hasPrefix("--") else { throw .missing("migrate", "HOST:PORT") }
        (host, port) = try Self.address(address)
        var seen = Set<String>()
        var i = 1
        while i < w.count {
            let option = w[i]
            guard Self.options.contains(option) else {
                throw .unexpected("migrate", option)
            }
            guard seen.insert(option).inserted else { throw .repeated(option) }
            if option == "--verify-migration" { verify = true; i += 1; continue }
            guard i + 1 < w.count else { throw .missing(option, "a value") }
            let value = w[i + 1]
            switch option {
            case "--max-downtime":
                guard let ms = Double(value), ms.isFinite, (1...60_000).contains(ms) else { throw .invalid(option, value, "use 1...60000 milliseconds") }
                maxDowntimeMS = ms
            case "--max-bandwidth":
                guard let b = ControlSize.parse(value), b >= 1 << 20 else { throw .invalid(option, value, "use bytes per second, at least 1M, e.g. 128M") }
                maxBandwidth = b
            case "--migrate-compress":
                guard ["auto", "on", "off"].contains(value) else { throw .invalid(option, value, "use auto, on or off") }
                compress = value
            case "--auto-converge":
                guard ["on", "off"].contains(value) else { throw .invalid(option, value, "use on or off") }
                autoConverge = value == "on"
            case "--migrate-tls-cert", "--migrate-tls-key", "--migrate-tls-ca":
                try ControlRequest.checkPath(value, option)
                if option == "--migrate-tls-cert" { tlsCertificate = value } else if option == "--migrate-tls-key" { tlsKey = value } else { tlsCA = value }
            default:
                guard let n = Int(value), (1...1000).contains(n) else { throw .invalid(option, value, "use 1...1000") }
                maxRounds = n
            }
            i += 2
        }
        try checkTLS()
    }

    /// The TLS options together: a CA, and a certificate with its key or neither.
    private func checkTLS() throws(ControlRequestError) {
        guard tlsCertificate != nil || tlsKey != nil || tlsCA != nil else { return }
        if tlsCA == nil { throw .missing(tlsCertificate != nil ? "--migrate-tls-cert" : "--migrate-tls-key", "--migrate-tls-ca") }
        if tlsKey != nil && tlsCertificate == nil { throw .missing("--migrate-tls-key", "--migrate-tls-cert") }
        if tlsCertificate != nil && tlsKey == nil { throw .missing("--migrate-tls-cert", "--migrate-tls-key") }
    }

    /// `HOST:PORT` or `[V6]:PORT`, port 1...65535.
    static func address(_ text: String) throws(ControlRequestError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else { throw .invalid("HOST:PORT", text, "use HOST:PORT, e.g. 127.0.0.1:7777") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]"), host.count >= 2 { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.utf8.count <= 255 else { throw .invalid("HOST:PORT", text, "name a host, e.g. 127.0.0.1:7777") }
        guard host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-:_%".unicodeScalars.contains($0)) }) else {
            throw .invalid("HOST:PORT", text, "a host is a name or an address (letters, digits, '.', '-', ':', '_', '%')")
        }
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw .invalid("HOST:PORT", text, "the port must be 1...65535")
        }
        return (host, port)
    }
}

/// Sizes as `--max-bandwidth` takes them: bytes, or a number with K, M or G (binary).
enum ControlSize {
    static func parse(_ text: String) -> UInt64? {
        var digits = Substring(text)
        var shift: UInt64 = 0
        switch digits.last?.uppercased() {
        case "K": shift = 10
        case "M": shift = 20
        case "G": shift = 30
        default: break
        }
        if shift > 0 { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(digits), n > 0,
              n <= (UInt64(1) << 40) >> shift else { return nil }
        return n << shift
    }
}

/// Why a request line was refused; `description` is the answer's one line.
public enum ControlRequestError: Error, Equatable, CustomStringConvertible {
    case empty
    case tooLong(Int)
    case notUTF8
    case controlCharacter(UInt32)
    case badEscape(Character)
    case unterminatedQuote
    case unknownCommand(String)
    /// `command` does not take `word` (or not there).
    case unexpected(String, String)
    case missing(String, String)
    case repeated(String)
    /// `name` `value`: `why`.
    case invalid(String, String, String)

    public var description: String {
        switch self {
        case .empty: return "empty request: give a command (\(ControlRequest.commands.joined(separator: ", ")))"
        case .tooLong(let n): return "a request of \(n) bytes: the limit is \(ControlWords.maxLineBytes) bytes a line"
        case .notUTF8: return "the request is not UTF-8"
        case .controlCharacter(let c): return "the request holds control character \(c)"
        case .badEscape(let c): return "\\\(c) in a quoted word: only \\\" and \\\\ are escapes"
        case .unterminatedQuote: return "a quoted word is not closed"
        case .unknownCommand(let c): return "unknown command '\(Self.shown(c))': use \(ControlRequest.commands.joined(separator: ", "))"
        case .unexpected(let cmd, let w): return "\(cmd) does not take '\(Self.shown(w))' (see docs/control.md)"
        case .missing(let what, let value): return "\(what) needs \(value)"
        case .repeated(let option): return "\(option) is given twice"
        case .invalid(let name, let value, let why): return "\(name) '\(Self.shown(value))': \(why)"
        }
    }

    /// A word as it appears in a one-line answer: at most 100 characters.
    static func shown(_ w: String) -> String { w.count > 100 ? String(w.prefix(100)) + "..." : w }
}

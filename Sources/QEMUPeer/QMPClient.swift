#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// A client of QEMU's machine protocol (QMP) over its Unix socket: one JSON object per line,
/// commands answered in order, asynchronous events in between (kept, in order, for
/// `events(named:)`).
public final class QMPClient: Sendable {
    private let fd: Int32
    /// The bytes read past the last whole message. Held for a whole command, so commands from
    /// several threads are answered in order.
    private let pending = Mutex<[UInt8]>([])
    /// Each event as it arrived: its name, its message (parsed again when asked for), its time.
    private let received = Mutex<[(name: String, message: Data, seconds: Double)]>([])
    /// How long one command may take to be answered.
    public let commandTimeout: Double

    /// Connects to `path`, retrying until `seconds` pass or `alive()` turns false (QEMU
    /// creates the socket a moment after it starts), then leaves capability negotiation.
    public init(path: String, seconds: Double, commandTimeout: Double = 30, alive: () -> Bool) throws(QEMUError) {
        self.commandTimeout = commandTimeout
        let deadline = Date(timeIntervalSinceNow: seconds)
        var connected: Int32 = -1
        while connected < 0 {
            let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else { throw .system(operation: "socket", errno: errno) }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { close(s); throw .unsupported("QMP socket path too long: \(path)") }
            withUnsafeMutableBytes(of: &addr.sun_path) { for (i, b) in bytes.enumerated() { $0[i] = b } }
            let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            if r == 0 { connected = s; break }
            close(s)
            guard alive() else { throw .qmpProtocol("QEMU exited before its QMP socket was up") }
            guard Date() < deadline else { throw .timedOut(what: "open its QMP socket", seconds: seconds) }
            usleep(10_000)
        }
        fd = connected
        let greeting = try pending.withLock { pending throws(QEMUError) in try readMessage(&pending, until: deadline) }
        guard greeting["QMP"] != nil else { throw .qmpProtocol("no QMP greeting") }
        _ = try execute("qmp_capabilities")
    }

    deinit { close(fd) }

    /// Runs `command` and returns its "return" value; a QMP error is thrown as `.qmp`.
    @discardableResult
    public func execute(_ command: String, _ arguments: [String: Any] = [:]) throws(QEMUError) -> Any {
        var message: [String: Any] = ["execute": command]
        if !arguments.isEmpty { message["arguments"] = arguments }
        guard var data = try? JSONSerialization.data(withJSONObject: message) else { throw .qmpProtocol("cannot encode \(command)") }
        data.append(10)
        let deadline = Date(timeIntervalSinceNow: commandTimeout)
        return try pending.withLock { pending throws(QEMUError) -> Any in
            let sent = data.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == data.count else { throw .qmpProtocol("the connection closed while sending \(command)") }
            while true {
                let reply = try readMessage(&pending, until: deadline)
                if let value = reply["return"] { return value }
                if let error = reply["error"] as? [String: Any] {
                    throw .qmp(command: command, message: error["desc"] as? String ?? "\(error)")
                }
            }
        }
    }

    /// The events of that name received so far (with seconds since the epoch), oldest first.
    public func events(named name: String) -> [(data: [String: Any], seconds: Double)] {
        let named = received.withLock { $0.filter { $0.name == name } }
        return named.map { event in
            let object = (try? JSONSerialization.jsonObject(with: event.message)) as? [String: Any]
            return (object?["data"] as? [String: Any] ?? [:], event.seconds)
        }
    }

    /// The next message that is not an event (events are kept), from `pending` and the socket.
    private func readMessage(_ pending: inout [UInt8], until deadline: Date) throws(QEMUError) -> [String: Any] {
        while true {
            if let nl = pending.firstIndex(of: 10) {
                let line = Data(pending[..<nl])
                pending.removeSubrange(...nl)
                guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else {
                    throw .qmpProtocol("not a JSON object: \(String(decoding: line, as: UTF8.self).prefix(80))")
                }
                if let event = object["event"] as? String {
                    let ts = object["timestamp"] as? [String: Any]
                    let seconds = Double(ts?["seconds"] as? Int ?? 0) + Double(ts?["microseconds"] as? Int ?? 0) / 1e6
                    received.withLock { $0.append((event, line, seconds)) }
                    continue
                }
                return object
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw .qmpProtocol("no answer within \(Int(commandTimeout)) s") }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left, 1) * 1000))
            if ready < 0 && errno != EINTR { throw .system(operation: "poll on the QMP socket", errno: errno) }
            guard ready > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else { throw .qmpProtocol("QEMU closed the connection") }
            pending += buffer[0..<n]
        }
    }
}

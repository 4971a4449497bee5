#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// `ringside ctl PATH COMMAND`: sends one request line to a control socket and waits for its
/// answer line, at most `timeout` seconds.
public enum ControlClient {
    /// Sends `request` and returns the answer line as it came (JSON) and decoded.
    public static func send(_ request: ControlRequest, to path: String, timeout: Double) throws(ControlError) -> (line: String, answer: ControlAnswer) {
        let line = request.line
        do {
            let text = try MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask {
                try await exchange(line, path: path, timeout: timeout)
            }.wait()
            guard let answer = ControlAnswer.parse(text) else {
                throw ControlError("\(path) answered with something that is not a control answer: \(String(text.prefix(200)))")
            }
            return (text, answer)
        } catch let e as ControlError {
            throw e
        } catch let e as IOError {
            throw ControlError(connectFailure(path, errno: e.errnoCode))
        } catch {
            throw ControlError("\(path): \(error)")
        }
    }

    private static func exchange(_ line: String, path: String, timeout: Double) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(unixDomainSocketPath: path) { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(ControlLineDecoder(limit: 16 << 20)))
                    return try NIOAsyncChannel<ControlLine, ByteBuffer>(wrappingChannelSynchronously: ch)
                }
            }
        let timer = channel.channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            channel.channel.close(promise: nil)
        }
        defer { timer.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: line + "\n"))
            for try await item in inbound {
                switch item {
                case .line(let bytes): return String(decoding: bytes, as: UTF8.self)
                case .tooLong(let n): throw ControlError("\(path) sent an answer of more than \(n) bytes")
                }
            }
            throw ControlError(String(format: "%@ closed the connection without an answer (within %g s)", path, timeout))
        }
    }

    /// Why connecting failed, in words.
    static func connectFailure(_ path: String, errno code: Int32) -> String {
        switch code {
        case ENOENT: return "no control socket at \(path) (is 'ringside run --control \(path)' running?)"
        case ECONNREFUSED: return "nothing listens on \(path): the ringside that made it has ended"
        case EACCES, EPERM: return "\(path): permission denied (the socket belongs to another user)"
        case ENOTSOCK: return "\(path) is not a socket"
        default: return "\(path): \(String(cString: strerror(code)))"
        }
    }
}

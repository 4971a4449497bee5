#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// How far a client's TCP has got, from Linux's `TCP_INFO`: the bytes it acknowledged (what
/// it took, whatever NIO still holds) and the bytes the kernel holds not yet sent. Glibc's
/// `struct tcp_info` stops before these fields, so the first bytes of the kernel's own
/// struct are read as raw bytes.
struct TCPProgress: Sendable {
    /// `tcpi_bytes_acked` (Linux 4.1).
    var bytesAcked: UInt64
    /// `tcpi_notsent_bytes` (Linux 4.6).
    var notSent: UInt32

    /// The first 160 bytes of Linux's `struct tcp_info` (uapi: fields are only ever appended).
    typealias Prefix = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    static let bytesAckedOffset = 120
    static let notSentOffset = 144

    /// Reads the progress of `channel`'s socket and hands it to `body` on the channel's event
    /// loop (nil when the channel is not a TCP socket or the kernel refuses).
    static func read(_ channel: Channel, _ body: @escaping (TCPProgress?) -> Void) {
        guard let provider = channel as? SocketOptionProvider else { return body(nil) }
        // SAFETY: getsockopt(TCP_INFO) writes at most MemoryLayout<Prefix>.size bytes (the
        // smaller of the kernel's struct and the length NIO passes) into storage of that size.
        let info: EventLoopFuture<Prefix> = provider.unsafeGetSocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_INFO))
        info.whenComplete { result in
            guard let prefix = try? result.get() else { return body(nil) }
            body(withUnsafeBytes(of: prefix) { raw in
                TCPProgress(bytesAcked: raw.loadUnaligned(fromByteOffset: bytesAckedOffset, as: UInt64.self),
                            notSent: raw.loadUnaligned(fromByteOffset: notSentOffset, as: UInt32.self))
            })
        }
    }
}

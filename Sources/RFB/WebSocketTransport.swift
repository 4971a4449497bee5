import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// RFB over WebSocket for noVNC (no websockify): one port that serves noVNC's files over
/// HTTP and upgrades any other request to a WebSocket whose binary messages carry the same
/// RFB byte stream as a TCP client's. With TLS (`options.tls`) the port speaks only HTTPS
/// and `wss://`, and the RFB inside offers VNC Authentication or None, never VeNCrypt.
extension RFBServer {
    /// Listens for noVNC on `host:port`, serving files from `webRoot` (e.g. /usr/share/novnc)
    /// when it exists. Returns the port bound.
    public func listenWebSocket(host: String, port: Int, webRoot: String?) throws(RFBServerError) -> Int {
        do {
            let ch = try clientBootstrap()
                .childChannelInitializer { [weak self] channel in
                    guard let self else { return channel.close() }
                    let files = StaticFileHandler(root: webRoot)
                    let upgrader = NIOWebSocketServerUpgrader(
                        maxFrameSize: 1 << 20,
                        shouldUpgrade: { channel, head in
                            var headers = HTTPHeaders()
                            // noVNC may ask for the "binary" subprotocol; a browser drops a socket whose answer omits it.
                            let asked = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }
                                .map { $0.trimmingCharacters(in: .whitespaces) }
                            if asked.contains("binary") { headers.add(name: "Sec-WebSocket-Protocol", value: "binary") }
                            return channel.eventLoop.makeSucceededFuture(headers)
                        },
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(WebSocketRFBBridge())
                                try channel.pipeline.syncOperations.addHandler(RFBConnection(server: self, channel: channel, webSocket: true))
                            }
                        })
                    // With TLS, the port speaks only wss:// (and https:// for noVNC's files): TLS comes first.
                    if let tls = self.options.tls {
                        do { try channel.pipeline.syncOperations.addHandlers(tls.serverHandlers()) } catch {
                            return channel.eventLoop.makeFailedFuture(error)
                        }
                    }
                    return channel.pipeline.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in channel.pipeline.removeHandler(files, promise: nil) })
                    ).flatMap { channel.pipeline.addHandler(files) }
                }
                .bind(host: host, port: port).wait()
            lockedAppend(ch)
            return ch.localAddress?.port ?? port
        } catch {
            throw .cannotListen("\(Self.describe(host, port)) (WebSocket): \(Self.reason(error))")
        }
    }
}

/// Binary WebSocket messages in, the RFB byte stream out; the server's writes wrapped as
/// binary messages. Pings are answered; a close closes.
final class WebSocketRFBBridge: ChannelDuplexHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .binary, .continuation, .text:
            context.fireChannelRead(wrapInboundOut(frame.unmaskedData))
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = unwrapOutboundIn(data)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: bytes)), promise: promise)
    }
}

/// Serves GET requests for files under `root` (noVNC's vnc.html and its scripts); 404 otherwise.
/// `@unchecked Sendable`: `path` is touched only in `channelRead`, which NIO calls on the
/// channel's one event loop.
final class StaticFileHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let root: String?
    private var path: String?

    init(root: String?) { self.root = root }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): path = head.uri
        case .body: break
        case .end:
            let uri = path ?? "/"
            path = nil
            respond(context: context, uri: uri)
        }
    }

    private func respond(context: ChannelHandlerContext, uri: String) {
        var rel = String(uri.split(separator: "?", maxSplits: 1).first ?? "/")
        if rel == "/" { rel = "/vnc.html" }
        var status = HTTPResponseStatus.notFound
        var body = Data("not found\n".utf8)
        var type = "text/plain"
        if let root, !rel.contains(".."), let data = FileManager.default.contents(atPath: root + rel) {
            status = .ok
            body = data
            type = Self.contentType(rel)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: "\(body.count)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    static func contentType(_ path: String) -> String {
        switch (path as NSString).pathExtension {
        case "html": return "text/html; charset=utf-8"
        case "js": return "text/javascript"
        case "css": return "text/css"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "json": return "application/json"
        default: return "application/octet-stream"
        }
    }
}

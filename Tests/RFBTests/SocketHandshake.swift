@testable import RFB

extension Socket {
    /// A client of `server` past the handshake (RFB 3.8, security None) and ServerInit.
    static func pastServerInit(_ server: RFBServer, receiveBuffer: Int32? = nil) throws -> Socket {
        let s = try Socket(port: server.port, receiveBuffer: receiveBuffer)
        _ = s.read(12)
        s.send(Array("RFB 003.008\n".utf8) + [1, 1])
        _ = s.read(2 + 4 + 24 + 4)
        return s
    }
}

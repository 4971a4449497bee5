internal import CRFB

/// VNC Authentication (RFC 6143 7.2.2): the client DES-encrypts the server's 16-byte
/// challenge with its password as the key. DES is libcrypto's; the RFB quirk is ours: the
/// key is the password's first 8 bytes (zero padded) with the bits of each byte reversed.
public enum VNCAuthentication {
    /// The 8-byte DES key for `password`.
    public static func key(password: [UInt8]) -> [UInt8] {
        var k = [UInt8](repeating: 0, count: 8)
        for (i, b) in password.prefix(8).enumerated() {
            var r: UInt8 = 0
            for bit in 0..<8 where b & (1 << bit) != 0 { r |= 0x80 >> bit }
            k[i] = r
        }
        return k
    }

    /// The response a client with `password` sends for `challenge`, or nil if libcrypto failed.
    public static func response(challenge: [UInt8], password: [UInt8]) -> [UInt8]? {
        precondition(challenge.count == 16, "a VNC challenge is 16 bytes")
        let k = key(password: password)
        var out = [UInt8](repeating: 0, count: 16)
        for half in 0..<2 {
            let block = Array(challenge[half * 8..<half * 8 + 8])
            var enc = [UInt8](repeating: 0, count: 8)
            guard crfb_des_encrypt_block(k, block, &enc) == 0 else { return nil }
            out.replaceSubrange(half * 8..<half * 8 + 8, with: enc)
        }
        return out
    }
}

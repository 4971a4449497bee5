#if canImport(Glibc)
import Glibc
#endif
import NIOSSL

/// TLS for the migration stream (`--migrate-tls-cert`, `--migrate-tls-key`, `--migrate-tls-ca`):
/// PEM files, read when a connection is made or a socket bound. The destination always asks
/// for the source's certificate and checks it against `caPath` (mutual authentication); the
/// source checks the destination's against `caPath` and the name it connects to (a DNS name or
/// an IP address in the certificate's subjectAltName), and presents its own if it has one.
public struct MigrationTLS: Sendable, Equatable {
    /// This side's certificate chain (PEM); nil on a source that presents none.
    public var certificatePath: String?
    /// The private key of `certificatePath` (PEM).
    public var keyPath: String?
    /// The certificate authority the other side's certificate must be signed by (PEM).
    public var caPath: String

    public init(certificatePath: String?, keyPath: String?, caPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.caPath = caPath
    }

    /// Which end of the connection a context is for.
    enum Role { case source, destination }

    /// A context for `role`, with every file read and checked: throws `MigrationError.tls`
    /// naming the option and the file that was wrong.
    func context(for role: Role) throws -> NIOSSLContext {
        let ca = try Self.certificates(caPath, option: "--migrate-tls-ca")
        var chain: [NIOSSLCertificate] = []
        var key: NIOSSLPrivateKey?
        switch (certificatePath, keyPath) {
        case (let c?, let k?):
            chain = try Self.certificates(c, option: "--migrate-tls-cert")
            key = try Self.privateKey(k)
        case (nil, nil) where role == .source: break
        case (nil, _): throw MigrationError.tls("give --migrate-tls-cert with --migrate-tls-key (the destination needs both)")
        case (_, nil): throw MigrationError.tls("--migrate-tls-cert needs --migrate-tls-key, the certificate's private key")
        }
        var config: TLSConfiguration
        switch role {
        case .destination:
            config = .makeServerConfigurationWithMTLS(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key!),
                                                      trustRoots: .certificates(ca))
        case .source:
            config = .makeClientConfiguration()
            config.trustRoots = .certificates(ca)
            config.certificateChain = chain.map { .certificate($0) }
            config.privateKey = key.map { .privateKey($0) }
        }
        config.minimumTLSVersion = .tlsv12
        do { return try NIOSSLContext(configuration: config) } catch {
            throw MigrationError.tls("the key \(keyPath ?? "") does not belong to the certificate \(certificatePath ?? "") (\(error))")
        }
    }

    /// Every certificate in a PEM file (at least one).
    private static func certificates(_ path: String, option: String) throws -> [NIOSSLCertificate] {
        try readable(path, option: option)
        guard let list = try? NIOSSLCertificate.fromPEMFile(path), !list.isEmpty else {
            throw MigrationError.tls("\(option) \(path) holds no PEM certificate")
        }
        return list
    }

    private static func privateKey(_ path: String) throws -> NIOSSLPrivateKey {
        try readable(path, option: "--migrate-tls-key")
        guard let key = try? NIOSSLPrivateKey(file: path, format: .pem) else {
            throw MigrationError.tls("--migrate-tls-key \(path) holds no PEM private key (or it is encrypted)")
        }
        return key
    }

    /// The file opens for reading; otherwise the line says why (strerror).
    private static func readable(_ path: String, option: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw MigrationError.tls("cannot read \(option) \(path): \(String(cString: strerror(errno)))") }
        close(fd)
    }
}

import Foundation

/// Why a guest image cannot be loaded. `description` is the user's line.
public enum GuestImageError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notELF(path: String)
    case truncated(path: String, what: String)
    case unsupported(path: String, what: String)
    case badSegment(path: String, what: String)
    case tooLarge(path: String, needs: UInt64, ram: UInt64)
    case badEntry(path: String, entry: UInt64)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "cannot read guest image \(p): \(r)"
        case .notELF(let p): return "\(p) is not a guest image: it is not an ELF file (expected a static ELF64 x86-64 executable)"
        case .truncated(let p, let w): return "guest image \(p) is truncated: \(w) lies beyond the end of the file"
        case .unsupported(let p, let w): return "guest image \(p) is not supported: \(w) (expected a static ELF64 x86-64 executable)"
        case .badSegment(let p, let w): return "guest image \(p) has a bad segment: \(w)"
        case .tooLarge(let p, let needs, let ram):
            return "guest image \(p) needs guest memory up to \(needs >> 20) MiB but --memory is \(ram >> 20) MiB (raise --memory)"
        case .badEntry(let p, let e):
            return "guest image \(p) has entry point 0x\(String(e, radix: 16)) outside its executable segments"
        }
    }
}

/// A loadable segment (`PT_LOAD`).
public struct ImageSegment: Equatable, Sendable {
    public var address: UInt64
    public var fileOffset: Int
    public var fileSize: Int
    public var memorySize: UInt64
    public var executable: Bool
}

/// A static ELF64 x86-64 executable, parsed and checked for what can be checked without RAM.
public struct GuestImage: Sendable {
    public let name: String
    public let path: String
    public let bytes: [UInt8]
    public let entry: UInt64
    public let segments: [ImageSegment]

    /// The lowest address past every segment: where free guest RAM (the "heap") begins.
    public var end: UInt64 { segments.map { $0.address + $0.memorySize }.max() ?? GuestLayout.imageBase }

    public init(path: String, name: String? = nil) throws(GuestImageError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let reason = !exists ? "no such file" : isDirectory.boolValue ? "it is a directory" : "permission denied or not a regular file"
            throw .unreadable(path: path, reason: reason)
        }
        try self.init(bytes: [UInt8](data), path: path, name: name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
    }

    public init(bytes: [UInt8], path: String, name: String) throws(GuestImageError) {
        self.bytes = bytes
        self.path = path
        self.name = name
        func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * $1) } }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[o + $1]) << (8 * $1) } }

        guard bytes.count >= 4, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw .notELF(path: path)
        }
        guard bytes.count >= 64 else { throw .truncated(path: path, what: "the ELF header") }
        guard bytes[4] == 2 else { throw .unsupported(path: path, what: "it is 32-bit (ELFCLASS32)") }
        guard bytes[5] == 1 else { throw .unsupported(path: path, what: "it is big-endian") }
        guard u16(18) == 62 else { throw .unsupported(path: path, what: "machine \(u16(18)) is not x86-64") }
        guard u16(16) == 2 else { throw .unsupported(path: path, what: "ELF type \(u16(16)) is not a static executable (ET_EXEC)") }
        entry = u64(24)
        let phoff = u64(32)
        let phentsize = Int(u16(54)), phnum = Int(u16(56))
        guard phentsize >= 56 || phnum == 0 else { throw .unsupported(path: path, what: "program header size \(phentsize)") }
        guard phoff <= UInt64(bytes.count), UInt64(bytes.count) - phoff >= UInt64(phnum * phentsize) else {
            throw .truncated(path: path, what: "the program header table")
        }
        var segs: [ImageSegment] = []
        for i in 0..<phnum {
            let h = Int(phoff) + i * phentsize
            guard u32(h) == 1 else { continue } // PT_LOAD
            let flags = u32(h + 4)
            let offset = u64(h + 8), paddr = u64(h + 24), filesz = u64(h + 32), memsz = u64(h + 40)
            guard memsz >= filesz else { throw .badSegment(path: path, what: "segment \(i) has p_filesz > p_memsz") }
            guard offset <= UInt64(bytes.count), UInt64(bytes.count) - offset >= filesz else {
                throw .truncated(path: path, what: "segment \(i) (file bytes \(offset)..<\(offset &+ filesz))")
            }
            guard paddr >= GuestLayout.imageBase else {
                throw .badSegment(path: path, what: "segment \(i) at 0x\(String(paddr, radix: 16)) overlaps the VMM's structures below 0x200000")
            }
            guard paddr < (1 << 40), memsz < (1 << 40) else {
                throw .badSegment(path: path, what: "segment \(i) at 0x\(String(paddr, radix: 16)) is far outside guest RAM")
            }
            if memsz == 0 { continue }
            segs.append(ImageSegment(address: paddr, fileOffset: Int(offset), fileSize: Int(filesz),
                                     memorySize: memsz, executable: flags & 1 != 0))
        }
        guard !segs.isEmpty else { throw .unsupported(path: path, what: "it has no loadable segments") }
        segments = segs
        guard segs.contains(where: { $0.executable && entry >= $0.address && entry < $0.address + $0.memorySize }) else {
            throw .badEntry(path: path, entry: entry)
        }
    }

    /// Checks every segment fits in `ramBytes` of guest RAM.
    public func validate(ramBytes: UInt64) throws(GuestImageError) {
        if end > ramBytes { throw .tooLarge(path: path, needs: end, ram: ramBytes) }
    }
}

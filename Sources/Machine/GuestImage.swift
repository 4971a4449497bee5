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
    /// The file is larger than `limit` bytes (`GuestImage.fileSizeLimit`); nothing was read.
    case fileTooLarge(path: String, size: UInt64, limit: UInt64)
    /// A `PT_NOTE` segment that cannot be read as notes, or a Ringside note that breaks the ABI.
    case badNote(path: String, what: String)
    /// The image declares a guest ABI version newer than this VMM boots.
    case newerABI(path: String, version: UInt32, newest: UInt32)

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
        case .fileTooLarge(let p, let size, let limit):
            return "guest image \(p) is \(size) bytes, more than the limit of \(limit) bytes (\(limit >> 20) MiB: the guest RAM or 1 GiB, "
                + "whichever is smaller); an image must fit in guest RAM, so check the path or raise --memory"
        case .badNote(let p, let w): return "guest image \(p) has a bad ELF note: \(w)"
        case .newerABI(let p, let v, let newest):
            return "guest image \(p) needs guest ABI version \(v), but this ringside boots versions \(GuestABI.oldest) to \(newest): "
                + "use a newer ringside, or rebuild the image for version \(newest) or older"
        }
    }
}

/// A loadable segment (`PT_LOAD`).
public struct ImageSegment: Equatable, Sendable {
    /// Guest-physical (and, identity-mapped, virtual) address: `p_paddr`, equal to `p_vaddr`.
    public var address: UInt64
    public var fileOffset: Int
    public var fileSize: Int
    public var memorySize: UInt64
    public var executable: Bool
    /// The segment's `fileSize` bytes from the file; the rest of `memorySize` is zero.
    public var bytes: [UInt8]
}

/// A static ELF64 x86-64 executable, parsed and checked for what can be checked without RAM.
///
/// From a file only the ELF header, the program header table and each `PT_LOAD` segment's
/// file bytes are read (with `pread`), never the whole file, and a file larger than the limit
/// is refused before anything is read.
public struct GuestImage: Sendable {
    public let name: String
    public let path: String
    public let entry: UInt64
    public let segments: [ImageSegment]
    /// The guest ABI version the image declares in its Ringside ELF note; nil when it has
    /// none (it is then booted as version 1, `GuestABI.undeclared`). Never above `GuestABI.newest`.
    public let declaredABIVersion: UInt32?

    /// No image file may be larger than this, whatever the guest RAM.
    public static let maxFileBytes: UInt64 = 1 << 30

    /// The largest image file a guest with `ramBytes` of RAM may load: the RAM or 1 GiB,
    /// whichever is smaller.
    public static func fileSizeLimit(ramBytes: UInt64) -> UInt64 { min(ramBytes, maxFileBytes) }

    /// The lowest address past every segment: where free guest RAM (the "heap") begins.
    public var end: UInt64 { segments.map { $0.address + $0.memorySize }.max() ?? GuestLayout.imageBase }

    /// Opens and checks the image at `path`, refusing a file larger than `maxFileBytes`
    /// before reading it.
    public init(path: String, name: String? = nil, maxFileBytes: UInt64 = GuestImage.maxFileBytes) throws(GuestImageError) {
        let file: ReadOnlyFile
        do { file = try ReadOnlyFile(path: path) } catch { throw .unreadable(path: path, reason: error.reason) }
        guard file.size <= maxFileBytes else { throw .fileTooLarge(path: path, size: file.size, limit: maxFileBytes) }
        try self.init(path: path, name: name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent,
                      fileSize: file.size) { (offset, count) throws(GuestImageError) in
            do throws(ReadOnlyFile.Failure) { return try file.read(at: offset, count: count) } catch {
                // The file shrank since it was opened, or a read failed.
                if let at = error.shrankAt { throw .truncated(path: path, what: "byte \(at)") }
                throw .unreadable(path: path, reason: error.reason)
            }
        }
    }

    /// Parses an image held in memory.
    public init(bytes: [UInt8], path: String, name: String) throws(GuestImageError) {
        try self.init(path: path, name: name, fileSize: UInt64(bytes.count)) { (offset, count) throws(GuestImageError) in
            Array(bytes[Int(offset)..<Int(offset) + count])
        }
    }

    /// Parses through `read(offset, count)`, which is only asked for bytes inside the file
    /// (`fileSize` bytes long).
    private init(path: String, name: String, fileSize: UInt64,
                 read: (UInt64, Int) throws(GuestImageError) -> [UInt8]) throws(GuestImageError) {
        self.path = path
        self.name = name
        let header = try read(0, Int(min(fileSize, 64)))
        let (entryPoint, phoff, phnum) = try Self.checkHeader(header, path: path)
        entry = entryPoint
        let tableBytes = UInt64(phnum * Self.programHeaderBytes)
        guard phoff <= fileSize, fileSize - phoff >= tableBytes else {
            throw .truncated(path: path, what: "the program header table")
        }
        let table = try read(phoff, Int(tableBytes))

        var segs: [ImageSegment] = []
        var fileBytes: UInt64 = 0
        var declared: UInt32?
        for i in 0..<phnum {
            let h = i * Self.programHeaderBytes
            if Self.le32(table, h) == 4 { // PT_NOTE
                guard let v = try Self.noteVersion(table, h, segment: i, path: path, fileSize: fileSize, read: read) else { continue }
                if let declared, declared != v {
                    throw .badNote(path: path, what: "its note segments declare two guest ABI versions, \(declared) and \(v)")
                }
                declared = v
                continue
            }
            guard Self.le32(table, h) == 1, // PT_LOAD
                  let seg = try Self.loadSegment(table, h, segment: i, path: path, fileSize: fileSize) else { continue }
            fileBytes += UInt64(seg.fileSize)
            guard fileBytes <= fileSize else {
                throw .badSegment(path: path, what: "segments 0...\(i) hold \(fileBytes) bytes of the file, more than its \(fileSize) bytes: segments overlap in the file")
            }
            segs.append(seg)
        }
        if let declared {
            guard declared >= GuestABI.oldest else {
                throw .badNote(path: path, what: "it declares guest ABI version \(declared); versions start at \(GuestABI.oldest)")
            }
            guard declared <= GuestABI.newest else { throw .newerABI(path: path, version: declared, newest: GuestABI.newest) }
        }
        declaredABIVersion = declared
        guard !segs.isEmpty else { throw .unsupported(path: path, what: "it has no loadable segments") }
        guard segs.contains(where: { $0.executable && entryPoint >= $0.address && entryPoint < $0.address + $0.memorySize }) else {
            throw .badEntry(path: path, entry: entryPoint)
        }
        // Everything checked: now read what will be copied into guest RAM.
        for i in segs.indices where segs[i].fileSize > 0 {
            segs[i].bytes = try read(UInt64(segs[i].fileOffset), segs[i].fileSize)
        }
        segments = segs
    }

    /// As Linux's loader has it: an ELF64 program header is exactly 56 bytes.
    private static let programHeaderBytes = 56

    private static func le16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
    private static func le64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }
    private static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// Checks the ELF header (the first 64 bytes or fewer) is a little-endian x86-64 static
    /// executable's; its entry point, the program header table's offset and its entry count.
    private static func checkHeader(_ header: [UInt8], path: String) throws(GuestImageError) -> (entry: UInt64, phoff: UInt64, phnum: Int) {
        guard header.count >= 4, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else {
            throw .notELF(path: path)
        }
        guard header.count >= 64 else { throw .truncated(path: path, what: "the ELF header") }
        switch header[4] { // EI_CLASS
        case 2: break
        case 1: throw .unsupported(path: path, what: "it is 32-bit (ELFCLASS32)")
        case let c: throw .unsupported(path: path, what: "ELF class byte \(c) is invalid; need 2 (64-bit)")
        }
        switch header[5] { // EI_DATA
        case 1: break
        case 2: throw .unsupported(path: path, what: "it is big-endian (ELFDATA2MSB)")
        case let d: throw .unsupported(path: path, what: "ELF data-encoding byte \(d) is invalid; need 1 (little-endian)")
        }
        guard le16(header, 18) == 62 else { throw .unsupported(path: path, what: "machine \(le16(header, 18)) is not x86-64") }
        guard le16(header, 16) == 2 else { throw .unsupported(path: path, what: "ELF type \(le16(header, 16)) is not a static executable (ET_EXEC)") }
        let phentsize = Int(le16(header, 54)), phnum = Int(le16(header, 56))
        guard phentsize == programHeaderBytes || phnum == 0 else {
            throw .unsupported(path: path, what: "program header size \(phentsize) (ELF64 program headers are 56 bytes)")
        }
        return (le64(header, 24), le64(header, 32), phnum)
    }

    /// The `PT_LOAD` program header at byte `h` of `table` as a segment (its bytes not read
    /// yet), nil when it takes no memory; throws where it breaks the layout.
    private static func loadSegment(_ table: [UInt8], _ h: Int, segment i: Int, path: String,
                                    fileSize: UInt64) throws(GuestImageError) -> ImageSegment? {
        let flags = le32(table, h + 4)
        let offset = le64(table, h + 8), vaddr = le64(table, h + 16), paddr = le64(table, h + 24)
        let filesz = le64(table, h + 32), memsz = le64(table, h + 40)
        guard memsz >= filesz else { throw .badSegment(path: path, what: "segment \(i) has p_filesz > p_memsz") }
        guard offset <= fileSize, fileSize - offset >= filesz else {
            throw .truncated(path: path, what: "segment \(i) (file bytes \(offset)..<\(offset &+ filesz))")
        }
        // Segments are placed at p_paddr and run at p_vaddr; with memory identity-mapped
        // (assets/guests/README.md) those are one address.
        guard vaddr == paddr else {
            throw .badSegment(path: path, what: "segment \(i) has p_vaddr \(hex(vaddr)) but p_paddr \(hex(paddr)); guest memory is "
                + "identity-mapped, so they must be equal (link with the virtual address as the load address)")
        }
        guard paddr >= GuestLayout.imageBase else {
            throw .badSegment(path: path, what: "segment \(i) at \(hex(paddr)) overlaps the VMM's structures below 0x200000")
        }
        guard paddr < (1 << 40), memsz < (1 << 40) else {
            throw .badSegment(path: path, what: "segment \(i) at \(hex(paddr)) is far outside guest RAM")
        }
        if memsz == 0 { return nil }
        return ImageSegment(address: paddr, fileOffset: Int(offset), fileSize: Int(filesz),
                            memorySize: memsz, executable: flags & 1 != 0, bytes: [])
    }

    /// The ABI version declared by the `PT_NOTE` program header at byte `h` of `table`, if
    /// its notes hold Ringside's.
    private static func noteVersion(_ table: [UInt8], _ h: Int, segment: Int, path: String, fileSize: UInt64,
                                    read: (UInt64, Int) throws(GuestImageError) -> [UInt8]) throws(GuestImageError) -> UInt32? {
        let offset = le64(table, h + 8), size = le64(table, h + 32), align = le64(table, h + 48)
        guard size <= UInt64(GuestABI.maxNoteSegmentBytes) else {
            throw .badNote(path: path, what: "note segment \(segment) is \(size) bytes, more than the \(GuestABI.maxNoteSegmentBytes) read")
        }
        guard offset <= fileSize, fileSize - offset >= size else {
            throw .truncated(path: path, what: "note segment \(segment) (file bytes \(offset)..<\(offset &+ size))")
        }
        return try GuestABI.declaredVersion(in: try read(offset, Int(size)), align: align, path: path, segment: segment)
    }

    /// Checks every segment fits in `ramBytes` of guest RAM.
    public func validate(ramBytes: UInt64) throws(GuestImageError) {
        if end > ramBytes { throw .tooLarge(path: path, needs: end, ram: ramBytes) }
    }
}

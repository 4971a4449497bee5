import Foundation
internal import CGuestABI

/// Why a boot module cannot be loaded. `description` is the user's line.
public enum BootModuleError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    /// `--module PATH=` with nothing after the `=`, or a name holding a NUL byte.
    case badName(spec: String, reason: String)
    case nameTooLong(name: String, bytes: Int)
    case tooMany(count: Int)
    case duplicateName(String)
    /// The file is larger than the guest RAM; nothing was read.
    case fileTooLarge(path: String, size: UInt64, ram: UInt64)
    /// The image and the modules up to `name` need `needs` bytes of RAM.
    case doesNotFit(name: String, size: UInt64, needs: UInt64, ram: UInt64)
    /// The image is booted as an ABI version without a module table (`declared`: its note
    /// says so; else it has no note).
    case imageTooOld(image: String, version: UInt32, declared: Bool)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "cannot read boot module \(p): \(r)"
        case .badName(let spec, let r): return "--module '\(spec)': \(r) (use PATH or PATH=NAME)"
        case .nameTooLong(let n, let b):
            return "boot module name '\(n)' is \(b) bytes; the limit is \(BootModule.maxNameBytes) (give a shorter one with --module PATH=NAME)"
        case .tooMany(let c): return "\(c) boot modules given; the limit is \(BootModule.maxCount)"
        case .duplicateName(let n): return "two boot modules are named '\(n)': give each its own name with --module PATH=NAME"
        case .fileTooLarge(let p, let size, let ram):
            return "boot module \(p) is \(size) bytes, more than the guest's \(ram >> 20) MiB of RAM (raise --memory or check the path)"
        case .doesNotFit(let n, let size, let needs, let ram):
            return "boot module '\(n)' (\(size) bytes) does not fit: the image and modules need \(Self.mib(needs)) of guest RAM "
                + "but --memory is \(ram >> 20) MiB (raise --memory)"
        case .imageTooOld(let image, let v, let declared):
            return "guest image \(image) " + (declared ? "declares guest ABI version \(v)" : "declares no guest ABI version (so it boots as version \(v))")
                + ", which has no boot modules (they need version 3): rebuild it declaring version 3, or run it without --module"
        }
    }

    private static func mib(_ bytes: UInt64) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}

/// A file the VMM loads into guest RAM after the image and lists in the boot info's module
/// table (`struct rs_module`), as multiboot modules or an initrd are: the guest reads it in place.
public struct BootModule: Sendable, Equatable {
    /// What the guest looks it up by: at most `maxNameBytes` bytes of UTF-8, no NUL.
    public let name: String
    public let path: String
    public let bytes: [UInt8]

    public static let maxCount = Int(RS_MAX_MODULES)
    /// The longest name: the table's field holds it and its NUL.
    public static let maxNameBytes = Int(RS_MODULE_NAME_BYTES) - 1

    public init(name: String, path: String, bytes: [UInt8]) {
        self.name = name
        self.path = path
        self.bytes = bytes
    }

    /// Loads `--module PATH[=NAME]`: NAME is what follows the last `=` (a path holding `=`
    /// needs an explicit name), else the file's base name. A file larger than `maxBytes` is
    /// refused before it is read.
    public init(spec: String, maxBytes: UInt64) throws(BootModuleError) {
        var path = spec, name: String? = nil
        if let eq = spec.lastIndex(of: "=") {
            path = String(spec[..<eq])
            name = String(spec[spec.index(after: eq)...])
        }
        guard !path.isEmpty else { throw .badName(spec: spec, reason: "the path is empty") }
        let chosen = name ?? URL(fileURLWithPath: path).lastPathComponent
        try Self.check(name: chosen, spec: spec)
        self.init(name: chosen, path: path, bytes: try Self.read(path, maxBytes: maxBytes))
    }

    /// Refuses an empty name, a NUL in it, or one longer than `maxNameBytes`.
    static func check(name: String, spec: String) throws(BootModuleError) {
        guard !name.isEmpty else { throw .badName(spec: spec, reason: "the name after '=' is empty") }
        guard !name.utf8.contains(0) else { throw .badName(spec: spec, reason: "the name holds a NUL byte") }
        guard name.utf8.count <= maxNameBytes else { throw .nameTooLong(name: name, bytes: name.utf8.count) }
    }

    /// Checks a list of modules for the table: count, names, no name twice.
    public static func validate(_ modules: [BootModule]) throws(BootModuleError) {
        guard modules.count <= maxCount else { throw .tooMany(count: modules.count) }
        var seen = Set<String>()
        for m in modules {
            try check(name: m.name, spec: m.path + "=" + m.name)
            guard seen.insert(m.name).inserted else { throw .duplicateName(m.name) }
        }
    }

    /// Where each module goes when the image ends at `imageEnd`: one 4 KiB-aligned address
    /// each, in order, and the heap's start (4 KiB aligned, after the last module).
    public static func placement(of sizes: [UInt64], after imageEnd: UInt64) -> (addresses: [UInt64], heap: UInt64) {
        var next = pageAligned(imageEnd)
        var addresses: [UInt64] = []
        for size in sizes {
            addresses.append(next)
            next = pageAligned(next + size)
        }
        return (addresses, next)
    }

    static func pageAligned(_ gpa: UInt64) -> UInt64 { (gpa + 0xFFF) & ~0xFFF }

    private static func read(_ path: String, maxBytes: UInt64) throws(BootModuleError) -> [UInt8] {
        let file: ReadOnlyFile
        do { file = try ReadOnlyFile(path: path) } catch { throw .unreadable(path: path, reason: error.reason) }
        guard file.size <= maxBytes else { throw .fileTooLarge(path: path, size: file.size, ram: maxBytes) }
        do { return try file.read(at: 0, count: Int(file.size)) } catch { throw .unreadable(path: path, reason: error.reason) }
    }
}

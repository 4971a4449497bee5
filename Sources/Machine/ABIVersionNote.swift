internal import CGuestABI

/// The guest ABI version an image declares: an ELF note named "Ringside" of type
/// `RS_NOTE_ABI_VERSION` whose 4-byte desc is the version (`RS_DECLARE_ABI_VERSION` in the
/// ABI header), in a `PT_NOTE` segment. No such note means version 1 (images from before the
/// note existed); see assets/guests/README.md, "ABI versions and compatibility".
public enum GuestABI {
    /// The newest version this VMM boots (`RS_BOOT_INFO_VERSION`).
    public static let newest = UInt32(RS_BOOT_INFO_VERSION)
    /// The oldest version this VMM boots (`RS_ABI_VERSION_MIN`).
    public static let oldest = UInt32(RS_ABI_VERSION_MIN)
    /// What an image without the note is taken for.
    public static let undeclared: UInt32 = 1
    /// The largest `PT_NOTE` segment read; a larger one is refused.
    static let maxNoteSegmentBytes = 64 << 10

    /// The version declared in one `PT_NOTE` segment's bytes, or nil when none of its notes
    /// is Ringside's. Notes of other owners are skipped. `align` is the segment's `p_align`
    /// (8 means 8-byte padding, as for `.note.gnu.property`; otherwise 4).
    static func declaredVersion(in bytes: [UInt8], align: UInt64, path: String, segment: Int) throws(GuestImageError) -> UInt32? {
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * $1) } }
        func bad(_ what: String) -> GuestImageError { .badNote(path: path, what: "note segment \(segment) \(what)") }
        let pad = align == 8 ? 8 : 4
        func padded(_ n: Int) -> Int { (n + pad - 1) / pad * pad }
        let owner = Array(RS_NOTE_NAME.utf8) + [0]
        var found: UInt32?
        var at = 0
        while at < bytes.count {
            guard bytes.count - at >= 12 else { throw bad("ends inside a note header (byte \(at))") }
            let nameSize = Int(u32(at)), descSize = Int(u32(at + 4)), type = u32(at + 8)
            let name = at + 12
            guard nameSize <= bytes.count, descSize <= bytes.count, padded(nameSize) + padded(descSize) <= bytes.count - name else {
                throw bad("has a note at byte \(at) that runs past the segment's end")
            }
            let desc = name + padded(nameSize)
            if Array(bytes[name..<name + nameSize]) == owner && type == RS_NOTE_ABI_VERSION {
                guard descSize == 4 else { throw bad("has a Ringside ABI-version note with \(descSize) bytes of desc; it must be 4 (a u32)") }
                let version = u32(desc)
                if let found, found != version { throw bad("declares two guest ABI versions, \(found) and \(version)") }
                found = version
            }
            at = desc + padded(descSize)
        }
        return found
    }
}

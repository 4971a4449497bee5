import Foundation

/// The repository's `assets/guests/DIR/NAME` (found from this file's path, like the CLI tests' guests).
public func guestAsset(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("assets/guests/" + relative).path
}

/// `elf` with one more program header, a `PT_NOTE` segment holding one note: `owner` (with its
/// NUL, padded to 4), `type`, and `desc` (padded to 4). The program header table is copied to
/// the end of the file with the new entry, so any image can be stamped. The default is the
/// guest ABI version note (assets/guests/README.md, "ABI versions and compatibility").
public func addingNote(to elf: [UInt8], version: UInt32, owner: String = "Ringside", type: UInt32 = 1, desc: [UInt8]? = nil) -> [UInt8] {
    func u16(_ o: Int) -> Int { Int(elf[o]) | Int(elf[o + 1]) << 8 }
    func u64(_ o: Int) -> Int { (0..<8).reduce(0) { $0 | Int(elf[o + $1]) << (8 * $1) } }
    var out = elf
    func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { out[o + i] = x } } }
    func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    func pad4(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4) }
    let phoff = u64(32), phnum = u16(56)
    out += [UInt8](repeating: 0, count: (8 - out.count % 8) % 8)
    let table = out.count
    out += elf[phoff..<phoff + 56 * phnum]
    out += [UInt8](repeating: 0, count: 56)
    let name = Array(owner.utf8) + [0]
    let descBytes = desc ?? withUnsafeBytes(of: version.littleEndian) { Array($0) }
    let note = out.count
    append(UInt32(name.count)); append(UInt32(descBytes.count)); append(type)
    out += pad4(name) + pad4(descBytes)
    let entry = table + 56 * phnum
    put(UInt32(4), entry)                       // PT_NOTE
    put(UInt32(4), entry + 4)                   // R
    put(UInt64(note), entry + 8)                // p_offset
    put(UInt64(out.count - note), entry + 32)   // p_filesz
    put(UInt64(out.count - note), entry + 40)   // p_memsz
    put(UInt64(4), entry + 48)                  // p_align
    put(UInt64(table), 32)                      // e_phoff
    put(UInt16(phnum + 1), 56)                  // e_phnum
    return out
}

/// The bytes of built-in guest `name`'s image (assets/guests/bin).
public func builtInImageBytes(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: guestAsset("bin/\(name).elf"))))
}

/// `elf` with its Ringside ABI version note's desc changed to `version`: the image as if its
/// sources had declared that version (the runtime checks `version >= 2` only).
public func restampingNote(of elf: [UInt8], to version: UInt32) -> [UInt8] {
    let header: [UInt8] = [9, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0] + Array("Ringside".utf8) + [0, 0, 0, 0]
    var out = elf
    for i in 0..<(elf.count - header.count - 4) where Array(elf[i..<i + header.count]) == header {
        withUnsafeBytes(of: version.littleEndian) { for (k, b) in $0.enumerated() { out[i + header.count + k] = b } }
        return out
    }
    return out
}

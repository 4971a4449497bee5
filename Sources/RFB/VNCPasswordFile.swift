/// The password a password file holds: its first line, without its line ending (`\n`, or
/// `\r\n` as a file saved on Windows has it). Any other control character is kept (it may be
/// meant) but reported, since a VNC client's password box rarely types one.
public struct VNCPasswordFile: Equatable, Sendable {
    /// The password's bytes (VNC Authentication uses the first 8).
    public let password: [UInt8]
    /// Control characters left in the password (a tab, a lone CR), in order; empty when none.
    public let controlCharacters: [UInt8]

    public init(contents: [UInt8]) {
        var line: ArraySlice<UInt8> = contents[...]
        if let lf = contents.firstIndex(of: 0x0A) {
            line = contents[..<lf]
            if line.last == 0x0D { line = line.dropLast() }
        }
        password = Array(line)
        controlCharacters = line.filter { $0 < 0x20 || $0 == 0x7F }
    }

    /// The control characters as `0x09, 0x0D` for a warning.
    public var controlCharacterList: String {
        controlCharacters.map { "0x" + String($0, radix: 16, uppercase: true).leftPadded(to: 2) }.joined(separator: ", ")
    }
}

private extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}

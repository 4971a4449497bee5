/// The 0xE9 debug console (Bochs/QEMU debugcon): bytes in, whole lines out.
struct DebugConsole {
    private var pending: [UInt8] = []
    private(set) var lastLine: String?

    /// Feeds one byte; returns a completed line at `\n`.
    mutating func put(_ byte: UInt8) -> String? {
        if byte == UInt8(ascii: "\n") {
            let line = String(decoding: pending, as: UTF8.self)
            pending.removeAll(keepingCapacity: true)
            lastLine = line
            return line
        }
        if byte != UInt8(ascii: "\r"), pending.count < 4096 { pending.append(byte) }
        return nil
    }

    /// Whatever was printed without a final newline.
    var unfinished: String? { pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self) }
}

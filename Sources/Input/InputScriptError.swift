/// Why an input script was refused: the file, the line (1-based; 0 when the whole file is at
/// fault) and what was expected there. Its description is the one line the user sees, e.g.
/// `clicks.txt:3: unknown key name 'KEY_FOO': ...`.
public struct InputScriptError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// The words of a control request line (docs/control.md): separated by spaces or tabs; a
/// word holding spaces, quotes or backslashes is written in double quotes, inside which `\"`
/// is a quote and `\\` a backslash. Control characters (other than the tab between words)
/// and invalid UTF-8 are refused. Pure functions: no input traps, and every input ends in
/// words or one `ControlRequestError`.
public enum ControlWords {
    /// A request line at most (without its newline).
    public static let maxLineBytes = 4096

    public static func split(_ line: [UInt8]) throws(ControlRequestError) -> [String] {
        guard line.count <= maxLineBytes else { throw .tooLong(line.count) }
        guard let text = String(validating: line, as: UTF8.self) else { throw .notUTF8 }
        var words: [String] = []
        var word = ""
        var inWord = false, quoted = false, escaped = false
        for ch in text.unicodeScalars {
            if ch.value < 0x20 && ch != "\t" || ch.value == 0x7F { throw .controlCharacter(ch.value) }
            if quoted {
                if escaped {
                    guard ch == "\"" || ch == "\\" else { throw .badEscape(Character(ch)) }
                    word.unicodeScalars.append(ch)
                    escaped = false
                } else if ch == "\\" {
                    escaped = true
                } else if ch == "\"" {
                    quoted = false
                } else {
                    word.unicodeScalars.append(ch)
                }
            } else if ch == " " || ch == "\t" {
                if inWord { words.append(word); word = ""; inWord = false }
            } else if ch == "\"" {
                inWord = true
                quoted = true
            } else {
                inWord = true
                word.unicodeScalars.append(ch)
            }
        }
        guard !quoted else { throw .unterminatedQuote }
        if inWord { words.append(word) }
        return words
    }

    /// `words` as a line `split` reads back as the same words: plain where a word needs no
    /// quotes, quoted otherwise.
    public static func join(_ words: [String]) -> String {
        words.map { w in
            let plain = !w.isEmpty && !w.unicodeScalars.contains { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "\\" }
            if plain { return w }
            // Scalar by scalar, as `split` reads: a backslash or quote followed by a combining
            // mark is one Character, and compared as Characters it went unescaped.
            var quoted = "\""
            for ch in w.unicodeScalars {
                if ch == "\\" || ch == "\"" { quoted.unicodeScalars.append("\\") }
                quoted.unicodeScalars.append(ch)
            }
            return quoted + "\""
        }.joined(separator: " ")
    }
}

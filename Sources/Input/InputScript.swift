#if canImport(Glibc)
import Glibc
#endif

/// An `--input-script` file: input events keyed by the guest frame they are for, so that a
/// headless run with input is repeatable (the same script gives the same pictures).
///
/// Plain text, one event per line, fields separated by spaces or tabs:
///
///     120 key down KEY_A          # evdev key names as in linux/input-event-codes.h, or a code
///     121 key repeat KEY_A        # a held key's auto-repeat (as --log-input prints a window's)
///     121 key up KEY_A
///     130 pointer 400 300         # absolute framebuffer position, x 0...7679, y 0...4319
///     131 button down left        # left, right or middle
///     132 button up left
///     133 wheel -1                # vertical clicks (> 0 away from the user), optional horizontal
///     140 type Hello, world!\n    # key strokes on a US keyboard, Shift where needed
///     150 display-size 1920 1080  # the host would like this mode (a resized window)
///
/// The number is the guest frame whose start sees the event (guest frames count from 1; 0
/// and 1 both mean "before the first frame"). Lines must be in frame order; several lines
/// may share a frame and keep their order. `#` starts a comment, except in the text of
/// `type`, which runs to the end of the line (escapes: `\n` Enter, `\t` Tab, `\b` Backspace,
/// `\\` a backslash). Blank lines are ignored.
public struct InputScript: Equatable, Sendable {
    /// One event and the frame it is for.
    public struct Entry: Equatable, Sendable {
        public var frame: Int
        public var event: InputEvent
        /// The script line it came from (1-based).
        public var line: Int

        public init(frame: Int, event: InputEvent, line: Int) {
            self.frame = frame
            self.event = event
            self.line = line
        }
    }

    /// The events in delivery order (frames never decrease).
    public private(set) var entries: [Entry] = []

    public static let maxFrame = 1_000_000_000
    public static let maxBytes = 16 << 20
    public static let pointerX = 0...7679
    public static let pointerY = 0...4319
    public static let wheelClicks = -1000...1000
    public static let displayWidth = 64...7680
    public static let displayHeight = 64...4320
    static let actions = "key, pointer, button, wheel, type or display-size"

    /// Parses `bytes`, the contents of a script called `name` (used in error lines).
    public init(parsing input: some Collection<UInt8>, name: String) throws(InputScriptError) {
        let bytes = Array(input)
        guard bytes.count <= Self.maxBytes else {
            throw InputScriptError(file: name, line: 0, message: "is \(bytes.count) bytes: an input script may be at most \(Self.maxBytes >> 20) MiB")
        }
        var lineNumber = 0
        var previous: (frame: Int, line: Int)?
        var start = bytes.startIndex
        while start != bytes.endIndex {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.endIndex
            lineNumber += 1
            var raw = bytes[start..<end]
            if raw.last == 0x0D { raw = raw.dropLast() }
            start = end == bytes.endIndex ? end : bytes.index(after: end)
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw InputScriptError(file: name, line: lineNumber, message: "is not UTF-8 text: an input script is plain text")
            }
            do throws(LineError) {
                guard let (frame, events) = try Self.parseLine(Substring(text)) else { continue }
                if let previous, frame < previous.frame {
                    throw LineError("frame \(frame) comes after frame \(previous.frame) (line \(previous.line)): put the lines in frame order")
                }
                previous = (frame, lineNumber)
                for e in events { entries.append(Entry(frame: frame, event: e, line: lineNumber)) }
            } catch {
                throw InputScriptError(file: name, line: lineNumber, message: error.message)
            }
        }
    }

    /// Reads and parses the script at `path`.
    public init(contentsOf path: String) throws(InputScriptError) {
        let bytes = try Self.readFile(path)
        try self.init(parsing: bytes, name: path)
    }

    /// Events with frames in `range`, in order.
    public func entries(in range: ClosedRange<Int>) -> ArraySlice<Entry> {
        let lo = entries.partitioningIndex { $0.frame >= range.lowerBound }
        let hi = entries.partitioningIndex { $0.frame > range.upperBound }
        return entries[lo..<max(lo, hi)]
    }

    /// The script as text that parses back to the same entries (one line per event).
    public var text: String {
        entries.map { "\($0.frame) \($0.event.scriptText)\n" }.joined()
    }

    // MARK: - lines

    struct LineError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// One line: nil for a blank or comment line, else its frame and events.
    static func parseLine(_ line: Substring) throws(LineError) -> (Int, [InputEvent])? {
        var rest = line.drop { $0 == " " || $0 == "\t" }
        if rest.isEmpty || rest.first == "#" { return nil }
        let frameField = takeField(&rest)
        let frame = try parseFrame(frameField)
        var action = takeField(&rest)
        if action.hasPrefix("#") { action = "" } // a comment right after the frame: no action
        if action == "type" {
            // The text runs to the end of the line: one separator is dropped, the rest is typed.
            if let c = rest.first, c == " " || c == "\t" { rest = rest.dropFirst() }
            return (frame, try typing(rest))
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var fields: [Substring] = []
        while true {
            let f = takeField(&rest)
            if f.isEmpty { break }
            fields.append(f)
        }
        switch action {
        case "":
            throw LineError("expected an action after the frame number: \(actions)")
        case "key":
            try expect(fields, 2, "key down|up NAME, e.g. 'key down KEY_A'")
            if fields[0] == "repeat" { return (frame, [.keyRepeat(code: try keyCode(fields[1]))]) }
            return (frame, [.key(code: try keyCode(fields[1]), down: try direction(fields[0], "key"))])
        case "pointer":
            try expect(fields, 2, "pointer X Y, e.g. 'pointer 400 300'")
            let x = try number(fields[0], "pointer x", pointerX), y = try number(fields[1], "pointer y", pointerY)
            return (frame, [.pointer(x: Int32(x), y: Int32(y))])
        case "button":
            try expect(fields, 2, "button down|up left|right|middle, e.g. 'button down left'")
            let down = try direction(fields[0], "button")
            guard let b = PointerButton.allCases.first(where: { $0.name == fields[1] }) else {
                throw LineError("unknown button '\(fields[1])': expected left, right or middle")
            }
            return (frame, [.button(b, down: down)])
        case "wheel":
            guard fields.count == 1 || fields.count == 2 else {
                throw LineError(fields.isEmpty ? "expected wheel V [H]: vertical clicks (> 0 away from the user) and optional horizontal clicks (> 0 right)"
                                               : "unexpected '\(fields[2])' after wheel V H: one event per line")
            }
            let v = try number(fields[0], "wheel clicks", wheelClicks)
            let h = fields.count == 2 ? try number(fields[1], "horizontal wheel clicks", wheelClicks) : 0
            return (frame, [.wheel(vertical: Int32(v), horizontal: Int32(h))])
        case "display-size":
            try expect(fields, 2, "display-size W H, e.g. 'display-size 1920 1080'")
            let w = try number(fields[0], "display width", displayWidth), h = try number(fields[1], "display height", displayHeight)
            return (frame, [.displaySize(width: Int32(w), height: Int32(h))])
        default:
            throw LineError("unknown action '\(action)': expected \(actions)")
        }
    }

    private static func takeField(_ s: inout Substring) -> Substring {
        s = s.drop { $0 == " " || $0 == "\t" }
        let end = s.firstIndex { $0 == " " || $0 == "\t" } ?? s.endIndex
        defer { s = s[end...] }
        return s[..<end]
    }

    private static func parseFrame(_ f: Substring) throws(LineError) -> Int {
        let digits = f.first == "-" || f.first == "+" ? f.dropFirst() : f
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw LineError("expected a frame number (0...\(maxFrame)) at the start of the line, got '\(f)'")
        }
        if f.first == "-", digits.contains(where: { $0 != "0" }) {
            throw LineError("frame \(f) is negative: frames count from 0 (0 and 1 both mean before the first frame)")
        }
        guard digits.count <= 10, let n = Int(digits), n <= maxFrame else {
            throw LineError("frame \(f) is out of range: use 0...\(maxFrame)")
        }
        return n
    }

    private static func expect(_ fields: [Substring], _ count: Int, _ form: String) throws(LineError) {
        if fields.count < count { throw LineError("expected \(form)") }
        if fields.count > count { throw LineError("unexpected '\(fields[count])' after \(form.prefix { $0 != "," }): one event per line") }
    }

    private static func direction(_ f: Substring, _ what: String) throws(LineError) -> Bool {
        switch f {
        case "down": return true
        case "up": return false
        default: throw LineError("expected down or up after '\(what)', got '\(f)'")
        }
    }

    private static func keyCode(_ f: Substring) throws(LineError) -> UInt16 {
        if let code = EvdevKey.code(named: String(f)) { return code }
        if f.allSatisfy({ $0.isASCII && $0.isNumber }), f.count <= 4, let n = Int(f), n >= 1, n <= Int(EvdevKey.maxCode) {
            return UInt16(n)
        }
        throw LineError("unknown key name '\(f)': expected a name from linux/input-event-codes.h such as KEY_A, KEY_ENTER or KEY_LEFTSHIFT, or a key code 1...\(EvdevKey.maxCode)")
    }

    private static func number(_ f: Substring, _ what: String, _ range: ClosedRange<Int>) throws(LineError) -> Int {
        let digits = f.first == "-" || f.first == "+" ? f.dropFirst() : f
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw LineError("expected a whole number for the \(what) (\(range.lowerBound)...\(range.upperBound)), got '\(f)'")
        }
        guard digits.count <= 10, let n = Int(f), range.contains(n) else {
            throw LineError("\(what) \(f) is out of range: use \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }

    private static func typing(_ text: Substring) throws(LineError) -> [InputEvent] {
        guard !text.isEmpty else { throw LineError("expected the text to type after 'type', e.g. 'type hello\\n'") }
        var events: [InputEvent] = []
        var escaped = false
        for c in text {
            var typed = c
            if escaped {
                escaped = false
                switch c {
                case "n": typed = "\n"
                case "t": typed = "\t"
                case "b": typed = "\u{8}"
                case "\\": typed = "\\"
                default: throw LineError("unknown escape '\\\(c)' in the text to type: use \\n (Enter), \\t (Tab), \\b (Backspace) or \\\\ (a backslash)")
                }
            } else if c == "\\" {
                escaped = true
                continue
            }
            guard let strokes = USKeyboard.events(typing: typed) else {
                throw LineError("no key of a US keyboard types '\(c.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())': type takes printable ASCII and \\n \\t \\b \\\\")
            }
            events += strokes
        }
        if escaped { throw LineError("the text to type ends with a lone '\\': write \\\\ for a backslash") }
        return events
    }

    // MARK: - file

    private static func readFile(_ path: String) throws(InputScriptError) -> [UInt8] {
        func fail(_ what: String) -> InputScriptError {
            InputScriptError(file: path, line: 0, message: "cannot read the input script: \(what)")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail(String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        guard Int(st.st_size) <= maxBytes else {
            throw InputScriptError(file: path, line: 0, message: "is \(st.st_size) bytes: an input script may be at most \(maxBytes >> 20) MiB")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        var count = 0
        while true {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(String(cString: strerror(errno)))
            }
            if n == 0 { break }
            count += n
            if count == bytes.count {
                guard count <= maxBytes else {
                    throw InputScriptError(file: path, line: 0, message: "is more than \(maxBytes >> 20) MiB: an input script may be at most that")
                }
                bytes += [UInt8](repeating: 0, count: 4096)
            }
        }
        return Array(bytes[..<count])
    }
}

extension InputEvent {
    /// The event as a script line without its frame, e.g. `key down KEY_A`.
    public var scriptText: String {
        switch self {
        case .key(let code, let down): "key \(down ? "down" : "up") \(EvdevKey.name(of: code) ?? String(code))"
        case .keyRepeat(let code): "key repeat \(EvdevKey.name(of: code) ?? String(code))"
        case .pointer(let x, let y): "pointer \(x) \(y)"
        case .button(let b, let down): "button \(down ? "down" : "up") \(b.name)"
        case .wheel(let v, let h): h == 0 ? "wheel \(v)" : "wheel \(v) \(h)"
        case .displaySize(let w, let h): "display-size \(w) \(h)"
        }
    }
}

extension Collection {
    /// The first index whose element satisfies `belongs`, for a collection where every element
    /// that does comes after every element that does not.
    fileprivate func partitioningIndex(where belongs: (Element) -> Bool) -> Index {
        var lo = startIndex, n = count
        while n > 0 {
            let half = n / 2
            let mid = index(lo, offsetBy: half)
            if belongs(self[mid]) { n = half } else { lo = index(after: mid); n -= half + 1 }
        }
        return lo
    }
}

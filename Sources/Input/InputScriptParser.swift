/// The grammar of one `--input-script` line (see `InputScript`): the frame, the action and
/// its fields, each refused with the one thing that was expected.
extension InputScript {
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
        return (frame, [try event(action, fields)])
    }

    /// The event of every action but `type`, from its fields.
    private static func event(_ action: Substring, _ fields: [Substring]) throws(LineError) -> InputEvent {
        switch action {
        case "":
            throw LineError("expected an action after the frame number: \(actions)")
        case "key":
            try expect(fields, 2, "key down|up NAME, e.g. 'key down KEY_A'")
            if fields[0] == "repeat" { return .keyRepeat(code: try keyCode(fields[1])) }
            return .key(code: try keyCode(fields[1]), down: try direction(fields[0], "key"))
        case "pointer":
            try expect(fields, 2, "pointer X Y, e.g. 'pointer 400 300'")
            let x = try number(fields[0], "pointer x", pointerX), y = try number(fields[1], "pointer y", pointerY)
            return .pointer(x: Int32(x), y: Int32(y))
        case "button":
            try expect(fields, 2, "button down|up left|right|middle, e.g. 'button down left'")
            let down = try direction(fields[0], "button")
            guard let b = PointerButton.allCases.first(where: { $0.name == fields[1] }) else {
                throw LineError("unknown button '\(fields[1])': expected left, right or middle")
            }
            return .button(b, down: down)
        case "wheel":
            guard fields.count == 1 || fields.count == 2 else {
                throw LineError(fields.isEmpty ? "expected wheel V [H]: vertical clicks (> 0 away from the user) and optional horizontal clicks (> 0 right)"
                                               : "unexpected '\(fields[2])' after wheel V H: one event per line")
            }
            let v = try number(fields[0], "wheel clicks", wheelClicks)
            let h = fields.count == 2 ? try number(fields[1], "horizontal wheel clicks", wheelClicks) : 0
            return .wheel(vertical: Int32(v), horizontal: Int32(h))
        case "display-size":
            try expect(fields, 2, "display-size W H, e.g. 'display-size 1920 1080'")
            let w = try number(fields[0], "display width", displayWidth), h = try number(fields[1], "display height", displayHeight)
            return .displaySize(width: Int32(w), height: Int32(h))
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

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
}

extension Collection {
    /// The first index whose element satisfies `belongs`, for a collection where every element
    /// that does comes after every element that does not.
    func partitioningIndex(where belongs: (Element) -> Bool) -> Index {
        var lo = startIndex, n = count
        while n > 0 {
            let half = n / 2
            let mid = index(lo, offsetBy: half)
            if belongs(self[mid]) { n = half } else { lo = index(after: mid); n -= half + 1 }
        }
        return lo
    }
}

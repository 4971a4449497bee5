import Control
import NIOCore
import RFB

/// The VNC server's client-message parser: the bytes at once, then one at a time as a slow
/// client would send them. Both must give the same messages and end the same way, and each
/// `next` must consume what it returns.
enum RFBClientFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        var outcome = FuzzOutcome()
        let whole = parse([bytes], &outcome)
        let trickled = parse(bytes.map { [$0] }, &outcome)
        if whole.messages != trickled.messages || whole.error != trickled.error {
            outcome.violations.append("at once: \(whole.messages.count) messages, \(whole.error.map { "\($0)" } ?? "-"); "
                + "byte by byte: \(trickled.messages.count), \(trickled.error.map { "\($0)" } ?? "-")")
        }
        outcome.accepted = whole.messages.count
        if let error = whole.error { outcome.refuse(error) }
        return outcome
    }

    private static func parse(_ chunks: [[UInt8]], _ outcome: inout FuzzOutcome) -> (messages: [ClientMessage], error: RFBProtocolError?) {
        var parser = ClientMessageParser()
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        var messages: [ClientMessage] = []
        do {
            for chunk in chunks {
                buffer.writeBytes(chunk)
                while true {
                    let before = (buffer.readerIndex, parser.skipping)
                    guard let m = try parser.next(&buffer) else { break }
                    messages.append(m)
                    if (buffer.readerIndex, parser.skipping) == before {
                        outcome.violations.append("a \(m) message consumed nothing")
                        return (messages, nil)
                    }
                }
                buffer.discardReadBytes()
            }
        } catch {
            return (messages, error)
        }
        return (messages, nil)
    }
}

/// The control socket's requests: the input split into lines as the server splits them;
/// each request parsed, and one that parses must read back the same from its own line.
enum ControlLineFuzz {
    static func run(_ bytes: [UInt8]) -> FuzzOutcome {
        var outcome = FuzzOutcome()
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        if lines.last?.isEmpty == true { lines.removeLast() } // after the last newline: no request
        for var line in lines {
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            do {
                let request = try ControlRequest.parse(line: line)
                outcome.accepted += 1
                do {
                    let again = try ControlRequest.parse(line: Array(request.line.utf8))
                    if again != request { outcome.violations.append("\(request.command) reads back as \(again.line)") }
                } catch {
                    outcome.violations.append("\(request.command) as its own line \(request.line.debugDescription) is refused: \(error)")
                }
            } catch {
                outcome.refuse(error)
            }
        }
        return outcome
    }
}

import Display
import Foundation
import Input
import NIOCore
@testable import RFB
import Testing
import TestSupport

/// Feeds `input` to a fresh protocol in one piece or in `chunks`; returns what it said and why it stopped.
func drive(_ input: [UInt8], password: [UInt8]? = nil, chunks: [Int]? = nil)
    -> (events: [RFBServerProtocol.Event], output: [UInt8], error: RFBProtocolError?) {
    var p = RFBServerProtocol(password: password, challenge: Array(0..<16))
    var buffer = ByteBuffer()
    var events: [RFBServerProtocol.Event] = [], output: [UInt8] = []
    var offset = 0
    let sizes = chunks ?? [input.count]
    var i = 0
    while offset < input.count || i == 0 {
        let n = min(max(1, sizes[i % sizes.count]), input.count - offset)
        buffer.writeBytes(input[offset..<offset + n])
        offset += n
        i += 1
        do {
            while let e = try p.next(&buffer, output: &output) { events.append(e) }
        } catch {
            return (events, output, error)
        }
        if input.isEmpty { break }
    }
    return (events, output, nil)
}

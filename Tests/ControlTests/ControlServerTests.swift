@testable import Control
import Foundation
import NIOCore
import Synchronization
import XCTest

/// The server on a real Unix socket with NIO, answering for a target that records what it
/// was asked (the guest's side is tested end to end in RingsideCLITests/ControlCLITests).
final class ControlServerTests: XCTestCase {
    /// Answers every request with ok and records it.
    final class RecordingTarget: ControlTarget {
        let seen = Mutex<[ControlRequest]>([])
        func answer(_ request: ControlRequest) -> ControlAnswer {
            seen.withLock { $0.append(request) }
            return ControlAnswer(ok: true, command: request.command)
        }
    }

    private func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "rsctl-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    /// Sends raw bytes on one connection and reads lines until `count` arrived or it closed.
    private func exchange(_ path: String, _ bytes: [UInt8], answers count: Int) throws -> [String] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard r == 0 else { throw ControlError("connect: \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        shutdown(fd, Int32(SHUT_WR)) // the last line may have no newline: the end of input ends it
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while got.filter({ $0 == 10 }).count < count {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break } // closed, or the 20 s deadline passed: the assertion says how many came
            got += buffer[0..<n]
        }
        return String(decoding: got, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func testAnswersEachLineInOrderAndKeepsGoingAfterABadOne() throws {
        let path = try tempDir() + "/s"
        let server = try ControlServer.start(path: path)
        defer { server.stop() }
        let target = RecordingTarget()
        server.attach(target)
        let lines = try exchange(path, Array("status\nbogus\r\npause\n".utf8) + [0xFF, 0x0A] + Array("quit".utf8), answers: 5)
        XCTAssertEqual(lines.count, 5, "\(lines)")
        let answers = lines.compactMap(ControlAnswer.parse)
        guard answers.count == 5 else { return XCTFail("\(lines)") }
        XCTAssertEqual(answers.map(\.ok), [true, false, true, false, true])
        XCTAssertEqual(answers.map(\.command), ["status", nil, "pause", nil, "quit"])
        XCTAssertTrue(answers[1].error?.hasPrefix("unknown command 'bogus'") == true)
        XCTAssertEqual(answers[3].error, "the request is not UTF-8")
        XCTAssertEqual(target.seen.withLock { $0 }, [.status, .pause, .quit])
    }

    func testAnOverlongLineIsAnsweredThenTheConnectionCloses() throws {
        let path = try tempDir() + "/s"
        let server = try ControlServer.start(path: path)
        defer { server.stop() }
        let target = RecordingTarget()
        server.attach(target)
        let lines = try exchange(path, [UInt8](repeating: 0x61, count: 100_000) + Array("\nstatus\n".utf8), answers: 2)
        XCTAssertEqual(lines.count, 1, "\(lines)")
        XCTAssertTrue(lines.first?.contains("the limit is 4096 bytes a line") == true, "\(lines)")
        XCTAssertTrue(target.seen.withLock { $0 }.isEmpty)
        // The server itself carries on.
        XCTAssertEqual(try ControlClient.send(.status, to: path, timeout: 20).answer.ok, true)
    }

    func testBeforeAGuestStatusSaysWaitingAndOthersAreRefused() throws {
        let path = try tempDir() + "/s"
        let server = try ControlServer.start(path: path, waiting: "waiting for a migration on 127.0.0.1:1")
        defer { server.stop() }
        let status = try ControlClient.send(.status, to: path, timeout: 20).answer
        XCTAssertEqual(status.status?.state, "waiting")
        XCTAssertEqual(status.status?.waiting, "waiting for a migration on 127.0.0.1:1")
        let pause = try ControlClient.send(.pause, to: path, timeout: 20).answer
        XCTAssertEqual(pause.error, "no guest yet: waiting for a migration on 127.0.0.1:1")
    }

    func testTheSocketIsOwnerOnlyAndRemovedAtTheEnd() throws {
        let path = try tempDir() + "/s"
        let server = try ControlServer.start(path: path)
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
        server.stop()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testWhatIsAlreadyAtThePathDecides() throws {
        let dir = try tempDir()
        // A regular file is never replaced.
        let file = dir + "/file"
        FileManager.default.createFile(atPath: file, contents: Data("keep".utf8))
        XCTAssertThrowsError(try ControlServer.start(path: file)) {
            XCTAssertEqual("\($0)", "--control \(file) exists and is not a socket: remove it or choose another path")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: file), Data("keep".utf8))
        // A socket someone listens on is in use.
        let live = dir + "/live"
        let first = try ControlServer.start(path: live)
        defer { first.stop() }
        XCTAssertThrowsError(try ControlServer.start(path: live)) { XCTAssertTrue("\($0)".contains("is in use"), "\($0)") }
        // A socket nobody listens on (a killed run's) is replaced.
        let stale = dir + "/stale"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in stale.utf8.enumerated() { p[i] = b } }
        XCTAssertEqual(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }, 0)
        close(fd)
        let replaced = try ControlServer.start(path: stale)
        replaced.attach(RecordingTarget())
        XCTAssertEqual(try ControlClient.send(.status, to: stale, timeout: 20).answer.ok, true)
        replaced.stop()
        // Too long for a Unix socket, and a directory that does not exist.
        let long = dir + "/" + String(repeating: "x", count: 120)
        XCTAssertThrowsError(try ControlServer.start(path: long)) { XCTAssertTrue("\($0)".contains("longer than a Unix socket's 107"), "\($0)") }
        XCTAssertThrowsError(try ControlServer.start(path: dir + "/no/such/dir/s")) {
            XCTAssertTrue("\($0)".contains("cannot listen there: No such file or directory"), "\($0)")
        }
    }

    func testTheClientSaysWhyItCannotConnect() throws {
        let dir = try tempDir()
        XCTAssertThrowsError(try ControlClient.send(.status, to: dir + "/none", timeout: 5)) {
            XCTAssertEqual("\($0)", "no control socket at \(dir)/none (is 'ringside run --control \(dir)/none' running?)")
        }
        FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        XCTAssertThrowsError(try ControlClient.send(.status, to: dir + "/file", timeout: 5)) { XCTAssertTrue("\($0)".contains("refused") || "\($0)".contains("nothing listens"), "\($0)") }
    }
}

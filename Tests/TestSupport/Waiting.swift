import Foundation
import Synchronization
import XCTest

/// Checks `condition` every `interval` seconds until it holds or `timeout` seconds have
/// passed; true if it held. The deadline only bounds a wait for an event (a frame, a line,
/// a file): it is never a claim about how fast anything is, so it is generous.
public func poll(timeout: Double = 60, every interval: Double = 0.005, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return try condition() }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// `poll`, and a test failure naming what did not happen when the deadline passes.
@discardableResult
public func waitFor(_ what: @autoclosure () -> String, timeout: Double = 60, every interval: Double = 0.005,
                    file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool) rethrows -> Bool {
    if try poll(timeout: timeout, every: interval, condition) { return true }
    XCTFail("waited \(Int(timeout)) s for \(what())", file: file, line: line)
    return false
}

/// Runs `body` on a thread of its own and waits at most `timeout` seconds for it to return:
/// for calls that block until an event (a pause, a join) and would otherwise hang the suite
/// if the event never came. On timeout the test fails naming `what`; the thread is left.
@discardableResult
public func finishes(_ what: @autoclosure () -> String, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line,
                     _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    Thread {
        body()
        done.signal()
    }.start()
    if done.wait(timeout: .now() + timeout) == .success { return true }
    XCTFail("\(what()) did not return in \(Int(timeout)) s", file: file, line: line)
    return false
}

/// A flag one thread sets and another waits for with a deadline.
public final class Latch: Sendable {
    /// Wakes the waiters; the flag is set and read under it.
    private let condition = NSCondition()
    private let raised = Atomic<Bool>(false)
    public init() {}
    public func raise() { condition.lock(); raised.store(true, ordering: .sequentiallyConsistent); condition.broadcast(); condition.unlock() }
    public var isRaised: Bool { raised.load(ordering: .sequentiallyConsistent) }
    /// True once raised; false if `timeout` seconds pass first.
    public func wait(timeout: Double = 60) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock(); defer { condition.unlock() }
        while !isRaised { if !condition.wait(until: deadline) { return isRaised } }
        return true
    }
}

import Foundation
import Machine
import XCTest

/// Waits on a running `Machine` that count its frames and end with a failure instead of
/// hanging: no test sleeps and hopes the guest got somewhere.
extension Machine {
    /// Waits until vCPU `cpu` has completed `frames` frames. Fails, naming them, if the run
    /// ends first or `timeout` seconds pass.
    @discardableResult
    public func waitForFrames(_ frames: Int, cpu: Int = 0, timeout: Double = 60,
                              file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let reached = poll(timeout: timeout, every: 0.001) { framesCompleted(cpu: cpu) >= frames || isFinished }
        let done = framesCompleted(cpu: cpu)
        if done >= frames { return true }
        XCTFail(reached ? "the run ended (\(finishedOutcome.map { "\($0)" } ?? "?")) at frame \(done) of vCPU \(cpu), before frame \(frames)"
                        : "vCPU \(cpu) reached frame \(done), not \(frames), in \(Int(timeout)) s", file: file, line: line)
        return false
    }

    /// Waits for the run to end by itself (its frame limit, the guest's exit or a crash).
    /// After `timeout` seconds the test fails, the machine is stopped and nil is returned.
    @discardableResult
    public func waitForEnd(timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line) -> MachineOutcome? {
        if let outcome = wait(seconds: timeout) { return outcome }
        XCTFail("the guest did not end in \(Int(timeout)) s (vCPUs at frames \(frameCounts))", file: file, line: line)
        stopAndWait(file: file, line: line)
        return nil
    }

    /// Stops the run and waits for every vCPU thread to end; fails if they have not within
    /// `timeout` seconds (a stop kicks every vCPU out of the guest at once).
    @discardableResult
    public func stopAndWait(timeout: Double = 30, file: StaticString = #filePath, line: UInt = #line) -> MachineOutcome? {
        stop()
        if let outcome = wait(seconds: timeout) { return outcome }
        XCTFail("the vCPU threads did not end within \(Int(timeout)) s of stop()", file: file, line: line)
        return nil
    }

    /// `pause()` with a deadline: fails instead of hanging if the vCPUs never park.
    @discardableResult
    public func pause(timeout: Double, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        finishes("pause()", timeout: timeout, file: file, line: line) { [self] in pause() }
    }
}

import Foundation
import XCTest

/// Whether the suite runs in CI: the environment variable `CI` is set (`.ci/run` sets it).
/// CI installs every tool and client the tests use, so there a missing one is a failure,
/// never a skip that would quietly stop the test from counting.
public var runningInCI: Bool {
    let value = (ProcessInfo.processInfo.environment["CI"] ?? "").lowercased()
    return !value.isEmpty && value != "0" && value != "false" && value != "no"
}

/// A requirement CI should have met but did not (see `runningInCI`).
public struct MissingInCI: Error, CustomStringConvertible {
    public let description: String
}

/// What a test throws when something it needs is absent: an `XCTSkip` with `reason` on a
/// developer's machine, an error that fails the test in CI. Every "needs X" check goes
/// through here, so no test can skip in CI for want of a tool.
public func unmetRequirement(_ reason: String, file: StaticString = #filePath, line: UInt = #line) -> any Error {
    runningInCI ? MissingInCI(description: "\(reason); CI must provide it (see .ci/run)") : XCTSkip(reason, file: file, line: line)
}

/// Skips (fails in CI) unless /dev/kvm exists. Tests that run `ringside` as a process use
/// this one; tests that open KVM themselves use `requireKVM()`.
public func requireKVMDevice(file: StaticString = #filePath, line: UInt = #line) throws {
    guard FileManager.default.fileExists(atPath: "/dev/kvm") else {
        throw unmetRequirement("needs /dev/kvm: this machine has no KVM", file: file, line: line)
    }
}

/// The path of `tool` on PATH; skips (fails in CI) when it is not installed. `install` says
/// how to get it, e.g. "apt-get install xdotool".
@discardableResult
public func requireTool(_ tool: String, install: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    guard let path = XvfbScreen.which(tool) else {
        throw unmetRequirement("needs \(tool) (\(install))", file: file, line: line)
    }
    return path
}

/// The first of `tools` found on PATH (alternative names of one program); skips (fails in CI)
/// when none is installed.
public func requireTool(anyOf tools: [String], install: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    for tool in tools { if let path = XvfbScreen.which(tool) { return path } }
    throw unmetRequirement("needs \(tools.joined(separator: " or ")) (\(install))", file: file, line: line)
}

/// Skips (fails in CI) unless the file at `path` (a tool's data, such as noVNC's page) exists.
public func requireFile(_ path: String, install: String, file: StaticString = #filePath, line: UInt = #line) throws {
    guard FileManager.default.fileExists(atPath: path) else {
        throw unmetRequirement("needs \(path) (\(install))", file: file, line: line)
    }
}

/// Skips (fails in CI) unless `python` (by default the `python3` on PATH, which the test
/// scripts use) can import `module`.
public func requirePythonModule(_ module: String, install: String, python: String = "python3",
                                file: StaticString = #filePath, line: UInt = #line) throws {
    let r = try? runProgram(URL(fileURLWithPath: "/usr/bin/env"), [python, "-c", "import \(module)"], timeout: 60)
    guard r?.status == 0 else {
        throw unmetRequirement("needs \(python) with \(module) (\(install))", file: file, line: line)
    }
}

/// Skips (fails in CI) unless the `ringside` executable was built next to the tests.
public func requireRingsideExecutable(file: StaticString = #filePath, line: UInt = #line) throws {
    guard FileManager.default.isExecutableFile(atPath: ringsideExecutable().path) else {
        throw unmetRequirement("ringside is not built next to the tests (swift build first)", file: file, line: line)
    }
}

import Foundation
import KVM
import Machine
import XCTest

/// Opens /dev/kvm, or skips the test when this machine has none (fails it in CI, see
/// `unmetRequirement`). Any other failure to open it (permissions, a broken module) fails the
/// test: a host that has KVM must run these.
public func requireKVM(file: StaticString = #filePath, line: UInt = #line) throws -> KVMSystem {
    try requireKVMDevice(file: file, line: line)
    return try KVMSystem()
}

/// A built-in guest image from assets/guests/bin.
public func builtInGuest(_ name: String) throws -> GuestImage {
    try GuestCatalog.load(name)
}

/// A machine config for tests: small RAM, small screen, free-running guest.
public func testConfig(_ guest: String, args: String = "", width: Int = 320, height: Int = 200, pitch: Int? = nil,
                       cpus: Int = 1, ramMiB: UInt64 = 16, frames: Int? = nil) throws -> MachineConfig {
    var c = MachineConfig(image: try builtInGuest(guest))
    c.arguments = args
    c.width = width
    c.height = height
    c.pitch = pitch
    c.cpus = cpus
    c.ramBytes = ramMiB << 20
    c.guestHz = 0
    c.frameLimit = frames
    return c
}

/// Expected pixel of the `pattern` guest at frame `n` (assets/guests/README.md).
public func patternPixel(x: Int, y: Int, frame n: Int) -> UInt32 {
    let r = UInt32((x + n) & 0xFF), g = UInt32((y + 2 * n) & 0xFF), b = UInt32((x ^ y) & 0xFF)
    return r << 16 | g << 8 | b
}

/// Reads pixel (x, y) of a framebuffer with `pitch` bytes per row.
public func pixel(_ base: UnsafeRawPointer, pitch: Int, x: Int, y: Int) -> UInt32 {
    base.load(fromByteOffset: y * pitch + x * 4, as: UInt32.self)
}

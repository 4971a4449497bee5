import Foundation
import Machine

/// Where QEMU and the files it boots are on this host.
public struct QEMUInstallation: Sendable {
    public let qemu: String
    public let qboot: String
    public let stub: String

    /// Finds `qemu-system-x86_64` on PATH, qboot (Debian's qemu-system-data) and the boot stub
    /// (`$RINGSIDE_QEMU_STUB`, else `assets/peers/qemu/bin` beside the built-in guests).
    public static func find(environment: [String: String] = ProcessInfo.processInfo.environment) throws(QEMUError) -> QEMUInstallation {
        guard let qemu = executable("qemu-system-x86_64", path: environment["PATH"] ?? "/usr/bin:/bin") else { throw .qemuMissing }
        let qbootCandidates = [environment["RINGSIDE_QBOOT"], "/usr/share/qemu/qboot.rom", "/usr/local/share/qemu/qboot.rom"].compactMap { $0 }
        guard let qboot = qbootCandidates.first(where: { FileManager.default.isReadableFile(atPath: $0) }) else {
            throw .fileMissing(what: "QEMU's qboot firmware", path: qbootCandidates.joined(separator: " or "),
                               remedy: "install Debian's qemu-system-data (it comes with qemu-system-x86), or set RINGSIDE_QBOOT")
        }
        var stubCandidates: [String] = []
        if let s = environment["RINGSIDE_QEMU_STUB"] { stubCandidates.append(s) }
        if let guests = GuestCatalog.directory() {
            stubCandidates.append(URL(fileURLWithPath: guests).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("peers/qemu/bin/ringside-qemu-stub.bin").path)
        }
        stubCandidates.append(FileManager.default.currentDirectoryPath + "/assets/peers/qemu/bin/ringside-qemu-stub.bin")
        guard let stub = stubCandidates.first(where: { FileManager.default.isReadableFile(atPath: $0) }) else {
            throw .fileMissing(what: "the Ringside boot stub for QEMU", path: stubCandidates.last!,
                               remedy: "run from the checkout, build it (bash assets/peers/qemu/build.sh) or set RINGSIDE_QEMU_STUB")
        }
        return QEMUInstallation(qemu: qemu, qboot: qboot, stub: stub)
    }

    static func executable(_ name: String, path: String) -> String? {
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

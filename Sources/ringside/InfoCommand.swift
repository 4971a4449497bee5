import ArgumentParser
import KVM
import Tracking

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show what this host's KVM supports for dirty tracking.")

    @Option(help: "Path of the KVM device.")
    var device = "/dev/kvm"

    func run() throws {
        runReportingFailures {
            let system: KVMSystem
            let caps: HostCapabilities
            do {
                system = try KVMSystem(path: device)
                caps = try HostCapabilities(system: system)
            } catch { throw Failure("\(error)") }
            func ring(_ bytes: Int) -> String {
                bytes > 0 ? "yes, up to \(bytes) bytes (\(bytes / HostCapabilities.ringEntryBytes) entries per vCPU)" : "no"
            }
            Console.out("KVM device:                 \(device)")
            Console.out("API version:                \(caps.apiVersion)")
            Console.out("dirty ring (ACQ_REL):       \(ring(caps.dirtyRingAcqRelBytes))")
            Console.out("dirty ring:                 \(ring(caps.dirtyRingBytes))")
            Console.out("manual dirty-log protect:   \(caps.manualProtect > 0 ? "yes (flags \(caps.manualProtect))" : "no")")
            Console.out("vCPUs:                      \(caps.recommendedVCPUs) recommended, \(caps.maxVCPUs) max")
            if let plan = try? TrackingPlan.make(mode: .ring, ringEntries: TrackingPlan.defaultRingEntries, caps: caps, migration: false) {
                Console.out("--tracking ring uses:       \(plan.mode.rawValue): \(plan.reason)")
            }
            let bitmap = TrackingPlan.bitmapPlan(requested: .bitmap, caps: caps, why: nil)
            Console.out("--tracking bitmap uses:     \(bitmap.reason)")
            Console.out("--tracking auto:            logged tracking as above while the screen is sparse; full repaint (the framebuffer not logged)")
            Console.out("                            after 3 logged syncs in a row cost more than 1.1x a full-frame copy timed on this host;")
            Console.out("                            back to logged when a compare pass (every 4-32 syncs) predicts logging is cheaper.")
            Console.out("                            The framebuffer stays logged while a migration subscriber needs its pages.")
            if let module = ["kvm_pvm", "kvm_intel", "kvm_amd"].first(where: { FileManager.default.fileExists(atPath: "/sys/module/\($0)") }) {
                Console.out("kernel module:              \(module)\(module == "kvm_pvm" ? " (PVM: guest code at CPL 0 is emulated; Ringside guests run at CPL 3)" : "")")
            }
            return 0
        }
    }
}

import Foundation

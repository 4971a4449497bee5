import ArgumentParser
import KVM
import Machine
import Tracking

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show what this host's KVM supports for dirty tracking.")

    @Option(help: "Path of the KVM device.")
    var device = "/dev/kvm"

    func run() throws {
        runReportingFailures {
            let system = try KVMSystem(path: device)
            let caps = try HostCapabilities(system: system)
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
            let auto = try? TrackingPlan.make(mode: .auto, ringEntries: TrackingPlan.defaultRingEntries, caps: caps, migration: false)
            if let auto, let image = try? GuestCatalog.load("pagewriter"),
               let cost = try? WriteFaultProbe.measureAndStore(system: system, logging: auto.logging, image: image) {
                Console.out(String(format: "logged write fault (guest): %.1f us per page (probe: pagewriter at CPL 3, %.0f pages a frame,",
                                   cost.nanosPerPage / 1000, cost.pagesPerFrame))
                Console.out(String(format: "                            %.0f us a frame logged vs %.0f us unlogged; %.0f ms)",
                                   cost.loggedFrameNanos / 1000, cost.unloggedFrameNanos / 1000, Double(cost.probeNanos) / 1e6))
            } else {
                Console.out("logged write fault (guest): not measured (the pagewriter guest image was not found)")
            }
            Console.out("--tracking auto (default):  per sync, logged tracking (as above) or the framebuffer unlogged, whichever costs less")
            Console.out("                            in all: a logged sync costs its host time plus one write fault (above) per page the guest")
            Console.out("                            dirtied; an unlogged sync compares the frame and copies what changed. Unlogged after 3")
            Console.out("                            logged syncs over 1.1x an unlogged one (or 2 whose faults alone are over 4x), or when the")
            Console.out("                            guest draws under 0.67x the frames it drew unlogged; back after 2 unlogged syncs whose")
            Console.out("                            changed pages predict logging 1.1x cheaper. Costs are thread CPU time. The framebuffer")
            Console.out("                            stays logged while a migration needs its pages. --stats prints each switch and why.")
            if let module = ["kvm_pvm", "kvm_intel", "kvm_amd"].first(where: { FileManager.default.fileExists(atPath: "/sys/module/\($0)") }) {
                Console.out("kernel module:              \(module)\(module == "kvm_pvm" ? " (PVM: guest code at CPL 0 is emulated; Ringside guests run at CPL 3)" : "")")
            }
            return 0
        }
    }
}

import Foundation

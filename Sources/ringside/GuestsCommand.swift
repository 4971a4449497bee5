import ArgumentParser
import Machine

struct GuestsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "guests", abstract: "List the built-in guest programs.")

    func run() throws {
        let dir = GuestCatalog.directory()
        let width = (GuestCatalog.names + BuiltGuest.all.map(\.name)).map(\.count).max() ?? 8
        for e in GuestCatalog.entries {
            let present = dir.map { FileManager.default.fileExists(atPath: "\($0)/\(e.name).elf") } ?? false
            Console.out("\(e.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(e.summary)\(present ? "" : "  [image missing]")")
        }
        for b in BuiltGuest.all {
            let state = b.isBuilt ? "  [built in \(b.directory)]" : "  [not built: run `\(b.buildCommand)`]"
            Console.out("\(b.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(b.summary)\(state)")
        }
        Console.out("images: \(dir ?? "not found (set RINGSIDE_GUEST_DIR)")")
    }
}

import Foundation

import KVM
import Machine
import TestSupport

/// Boots `config` and waits (30 s at most) for it to end at its frame limit or otherwise; the
/// machine, how it ended, and the console lines it wrote.
func bootToTheEnd(_ config: MachineConfig) throws -> (Machine, MachineOutcome, [String]) {
    let system = try requireKVM()
    let lines = LineLog()
    var events = MachineEvents()
    events.consoleLine = { _, line in lines.append(line) }
    let m = try Machine(system: system, config: config, events: events)
    m.start()
    guard let outcome = m.wait(seconds: 30) else { m.stop(); m.wait(); throw GuestDidNotFinish(guest: config.image.name, seconds: 30) }
    return (m, outcome, lines.all)
}

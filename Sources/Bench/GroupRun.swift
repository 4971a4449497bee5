import Dispatch
import Machine
import Tracking

/// One group of cells (the modes and sink counts of one workload, resolution and RAM size)
/// through the three phases, the cells taking turns: what each cell recorded, noted, or
/// failed with. A phase returns false when the run was abandoned.
struct GroupRun {
    let group: BenchGroup
    let runner: BenchRunner
    let base: MachineConfig
    var failures: [String?]
    var notes: [[String]]
    var records: [BenchRecord]
    var trackingPlans: [TrackingPlan?] = []
    private var plan: BenchPlan { runner.plan }
    private var n: Int { group.cells.count }

    init(group: BenchGroup, runner: BenchRunner) {
        self.group = group
        self.runner = runner
        base = runner.config(for: group)
        failures = [String?](repeating: nil, count: group.cells.count)
        notes = [[String]](repeating: [], count: group.cells.count)
        records = group.cells.map {
            var r = BenchRecord(guest: $0.workload.label, width: $0.resolution.width, height: $0.resolution.height,
                                mode: $0.mode.rawValue, cpus: $0.cpus, ramBytes: $0.ramBytes, frames: 0)
            r.sinks = $0.sinks
            return r
        }
        for (i, cell) in group.cells.enumerated() {
            do {
                let p = try TrackingPlan.make(mode: cell.mode, ringEntries: runner.plan.ringEntries, caps: runner.caps, migration: cell.migration)
                if p.mode != cell.mode { notes[i].append("measured as \(p.mode.rawValue): \(p.reason)") }
                trackingPlans.append(p)
            } catch {
                failures[i] = "\(error)"
                trackingPlans.append(nil)
            }
        }
    }

    /// A probe for each cell still in the running, built by `make`; nil for the others.
    private mutating func probes<P>(_ make: (BenchCell, TrackingPlan) throws -> P) -> [P?] {
        var probes: [P?] = []
        for (i, cell) in group.cells.enumerated() {
            guard let tp = trackingPlans[i], failures[i] == nil else { probes.append(nil); continue }
            do { probes.append(try make(cell, tp)) } catch {
                failures[i] = "\(error)"
                probes.append(nil)
            }
        }
        return probes
    }

    /// Phase A: lockstep, the cells taking turns in rounds within the time budget.
    mutating func lockstepPhase() -> Bool {
        let (plan, runner, base) = (self.plan, self.runner, self.base)
        let quotas = (0..<plan.rounds).map { r in plan.frames / plan.rounds + (r < plan.frames % plan.rounds ? 1 : 0) }
        let probes = probes { cell, tp in
            try LockstepProbe(cell: cell, frames: plan.frames, warmup: plan.warmupFrames + cell.workload.leadInFrames,
                              migrationRoundEvery: plan.migrationRoundEvery, system: runner.system, config: base, plan: tp, tile: runner.tile)
        }
        defer { for p in probes { p?.finish() } }
        // A lead-in (DOOM's title screen) and the warm-up run first, outside the budget.
        for i in 0..<n where group.workload.leadInFrames > 0 {
            guard let p = probes[i], failures[i] == nil else { continue }
            if !p.runTurn(frames: 0, timeout: 60, abandon: { runner.abandoned }) {
                if runner.abandoned { return false }
                failures[i] = p.failure ?? "the lockstep lead-in failed"
            }
        }
        let start = DispatchTime.now().uptimeNanoseconds
        for round in 0..<plan.rounds {
            for k in 0..<n {
                let i = (k + round) % n // rotate who goes first
                guard let p = probes[i], failures[i] == nil else { continue }
                if !p.runTurn(frames: quotas[round], timeout: 30, abandon: { runner.abandoned }) {
                    if runner.abandoned { return false }
                    failures[i] = p.failure ?? "the lockstep phase failed"
                }
            }
            let spent = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if round + 1 < plan.rounds && spent > plan.lockstepBudgetSeconds {
                for i in 0..<n where failures[i] == nil {
                    notes[i].append("lockstep cut to \(round + 1) of \(plan.rounds) rounds (\(formatSeconds(spent)) > budget \(formatSeconds(plan.lockstepBudgetSeconds)))")
                }
                break
            }
        }
        for i in 0..<n { if let p = probes[i], failures[i] == nil { p.fill(&records[i], notes: &notes[i]) } }
        return true
    }

    /// Phase B: free-run, the cells taking turns in rounds.
    mutating func freeRunPhase() -> Bool {
        let (plan, runner, base) = (self.plan, self.runner, self.base)
        let turn = plan.freeRunSeconds / Double(plan.rounds)
        let probes = probes { cell, tp in
            try FreeRunProbe(cell: cell, migrationRoundEvery: plan.migrationRoundEvery, refreshHz: plan.freeRunRefreshHz,
                             system: runner.system, config: base, plan: tp, tile: runner.tile)
        }
        defer { for p in probes { p?.finish() } }
        for round in 0..<plan.rounds {
            for k in 0..<n {
                let i = (k + round) % n
                guard let p = probes[i], failures[i] == nil else { continue }
                if !p.runTurn(seconds: turn, warmup: round == 0 ? plan.freeRunWarmup : 0, abandon: { runner.abandoned }) {
                    if runner.abandoned { return false }
                    failures[i] = p.failure ?? "the free-run phase failed"
                }
            }
        }
        for i in 0..<n { if let p = probes[i], failures[i] == nil { p.fill(&records[i], notes: &notes[i]) } }
        return true
    }

    /// Phase C: paced, one rate pair after another, each cell in one unbroken turn per pair:
    /// a resumed guest makes a frame at once, into a loop with no token saved, which would
    /// add a late frame to every turn.
    mutating func pacedPhase() -> Bool {
        guard plan.pacedSeconds > 0 else { return true }
        let turn = plan.pacedSeconds / Double(plan.pacedRates.count)
        for rates in plan.pacedRates {
            for (i, cell) in group.cells.enumerated() {
                guard let tp = trackingPlans[i], failures[i] == nil else { continue }
                let p: PacedProbe
                do {
                    p = try PacedProbe(cell: cell, rates: rates, migrationRoundEvery: plan.migrationRoundEvery,
                                       system: runner.system, config: base, plan: tp, tile: runner.tile)
                } catch {
                    failures[i] = "\(error)"
                    continue
                }
                defer { p.finish() }
                if !p.runTurn(seconds: turn, warmup: plan.pacedWarmup, abandon: { runner.abandoned }) {
                    if runner.abandoned { return false }
                    failures[i] = p.failure ?? "the paced phase failed at \(rates)"
                    continue
                }
                records[i].paced.append(p.result(notes: &notes[i]))
            }
        }
        return true
    }

    func results() -> [BenchCellResult] {
        group.cells.enumerated().map { i, cell in
            BenchCellResult(index: group.firstIndex + i, cell: cell, record: failures[i] == nil ? records[i] : nil,
                            failure: failures[i], notes: notes[i])
        }
    }
}

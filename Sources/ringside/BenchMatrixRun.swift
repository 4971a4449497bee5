import Bench
import Foundation

extension BenchCommand {
    /// The matrix: a line per cell as it finishes, the files rewritten after each group, a
    /// count at the end. Ctrl-C finishes the running cells, a second drops them.
    func runMatrix(_ plan: BenchPlan) throws -> Int32 {
        try checkWritable(json, "--json")
        try checkWritable(csv, "--csv")
        try checkWritable(chart, "--chart")
        let runner = try BenchRunner(plan: plan, device: device)
        let total = runner.plan.cellCount
        for line in runner.skipped { Console.out(line) }
        Console.out("ringside bench: \(total) cells" + (quick ? " (--quick)" : ""))
        for line in runner.setup { Console.out("  " + line) }
        let table = BenchTable(showSinks: plan.sinkCounts.count > 1)
        Console.out(table.header)
        let interrupts = interruptHandler(for: runner)
        defer { interrupts.cancel() }

        let start = Date()
        var records: [BenchRecord] = []
        var writeError: String?
        var groupEnd = 0
        var events = BenchEvents()
        events.groupStarted = { group, total in
            groupEnd = group.firstIndex + group.cells.count
            Console.out(table.groupLine(group, total: total))
        }
        events.cellFinished = { result, total in
            Console.out(table.row(result, total: total))
            if let line = result.record.flatMap(BenchTable.pacedLine) { Console.out(line) }
            for note in result.notes { Console.out("      note: \(note)") }
            if let r = result.record { records.append(r) }
            // Rewrite the files after each group, so an interrupted or crashed run keeps what finished.
            if result.index + 1 == groupEnd { writeError = writeError ?? writeFiles(records, plan: plan, chart: false) }
        }
        let summary = runner.run(events)
        writeError = writeError ?? writeFiles(summary.records, plan: plan, chart: true)
        Console.out(String(format: "%d of %d cells in %.1f s", summary.records.count, total, Date().timeIntervalSince(start))
            + (summary.failures.isEmpty ? "" : ", \(summary.failures.count) failed")
            + (summary.interrupted ? ", interrupted" : ""))
        for (path, what) in [(json, "records"), (csv, "CSV"), (chart, "chart")] {
            if let path { Console.out("wrote \(what) to \(path)") }
        }
        if let writeError { throw Failure(writeError) }
        if summary.interrupted { return 130 }
        return summary.failures.isEmpty ? 0 : 1
    }

    /// Ctrl-C: the first finishes the cells now running, the second drops them. Ctrl-C (and
    /// SIGTERM, SIGHUP) are taken by one thread with sigwait, blocked in every other
    /// (StopSignals, started in `run()` before any thread): a DispatchSource signal source on
    /// Linux installs a handler instead, so the signal lands on whichever thread the kernel
    /// picks, cuts its system call short (a vCPU's KVM_RUN, a measuring sleep), and leaves that
    /// thread, and every thread it starts later, with nearly every signal blocked, the vCPU
    /// kick (SIGUSR1) included.
    private func interruptHandler(for runner: BenchRunner) -> StopSignals.Registration {
        StopSignals.onEverySignal { _, count in
            if count == 1 {
                Console.error("interrupted: finishing the cells now running, then stopping (Ctrl-C again to drop them)")
                runner.requestStop()
            } else {
                Console.error("interrupted again: dropping the cells now running")
                runner.abandon()
            }
        }
    }
}

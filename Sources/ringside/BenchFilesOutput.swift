import Bench
import Foundation

extension BenchCommand {
    /// `--replot FILE --chart FILE`: redraws the chart from an earlier run's JSON.
    func redraw(from replot: String, plan: BenchPlan) throws -> Int32 {
        guard let chart else { throw Failure("--replot needs --chart FILE to draw into") }
        try checkWritable(chart, "--chart")
        let records: [BenchRecord]
        do {
            records = try BenchFiles.records(fromJSON: Data(contentsOf: URL(fileURLWithPath: replot)))
        } catch let e as BenchError {
            throw Failure("--replot \(replot): \(e)")
        } catch {
            throw Failure("--replot \(replot): cannot read it (\(error.localizedDescription))")
        }
        if let e = writeFiles(records, plan: plan, outputs: [(chart, .chart)]) { throw Failure(e) }
        Console.out("wrote chart of \(records.count) records to \(chart)")
        return 0
    }

    func checkWritable(_ path: String?, _ option: String) throws {
        guard let path else { return }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw Failure("\(option) \(path): directory \(dir) does not exist")
        }
    }

    enum OutputKind { case json, csv, chart }

    /// Writes the JSON, CSV and (when `chart`) the chart; returns the first failure as a line.
    func writeFiles(_ records: [BenchRecord], plan: BenchPlan, chart drawChart: Bool) -> String? {
        writeFiles(records, plan: plan, outputs: [(json, .json), (csv, .csv)] + (drawChart ? [(chart, .chart)] : []))
    }

    func writeFiles(_ records: [BenchRecord], plan: BenchPlan, outputs: [(String?, OutputKind)]) -> String? {
        for (path, kind) in outputs {
            guard let path else { continue }
            let text: String
            switch kind {
            case .json: text = BenchFiles.json(records)
            case .csv: text = BenchFiles.csv(records)
            case .chart:
                let cpus = Set(records.map(\.cpus)).sorted().map(String.init).joined(separator: "/")
                let subtitle = "\(records.count) cells, \(cpus) vCPU, tile \(plan.tileWidth)x\(plan.tileHeight), "
                    + "\(ProcessInfo.processInfo.activeProcessorCount) host cores; lines join the workloads of one mode"
                text = BenchChart.svg(records, tileWidth: plan.tileWidth, tileHeight: plan.tileHeight, subtitle: subtitle)
            }
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                return "cannot write \(path): \(error.localizedDescription)"
            }
        }
        return nil
    }
}

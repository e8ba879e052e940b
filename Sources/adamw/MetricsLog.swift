import Checkpoints
import CommandSupport
import Experiments
import Foundation
import Training

/// One JSON object per record, appended to a file (JSON Lines). `adamw train` writes one per epoch: epoch,
/// train_loss, test_loss, test_accuracy, lr (at the epoch's end), skipped_steps (so far), seconds; `adamw gpt` one
/// per evaluation, keyed by iter. A number that is not finite (a diverged loss) is written as `null`, since JSON
/// has no NaN. A new run creates (or empties) the file; a resumed run at epoch (or iteration) k continues it,
/// after checking that it reaches k: records past k, which an interrupt between a record and its checkpoint
/// leaves, are dropped (the resumed run writes them again), and the records up to k stay.
struct MetricsLog {
    let path: String
    private let handle: FileHandle

    /// Opens `path` for a run that starts after `epoch` (0: a new run); `key` names the count in each record.
    init(path: String, continuingAt epoch: Int, key: String = "epoch") throws {
        self.path = path
        if epoch > 0, FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Refusal("--metrics-out \(path) cannot be read")
            }
            // An empty file holds no record to continue: the run's records are appended to it, as to a new one.
            if !data.isEmpty {
                var lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
                func count(of line: Substring) -> Int? {
                    (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?[key] as? Int
                }
                let noun = key == "epoch" ? "epoch" : "iteration"
                // A last line cut short (the process killed while writing it, a full disk) is not a record: dropped.
                let cut = data.last != 0x0A && lines.last.flatMap(count(of:)) == nil && !lines.isEmpty
                if cut { lines.removeLast() }
                guard let last = lines.last.flatMap(count(of:)) else {
                    throw Refusal("--metrics-out \(path) does not end with an \(noun)'s record; refusing to continue it")
                }
                // Only records past the checkpoint are dropped, and only when the ones before reach it: a file of
                // another run is refused, not cut.
                var kept = lines[...]
                while let record = kept.last, let value = count(of: record), value > epoch { kept = kept.dropLast() }
                guard kept.last.flatMap(count(of:)) == epoch else {
                    throw Refusal("--metrics-out \(path) ends at \(noun) \(last), the checkpoint at \(noun) \(epoch)")
                }
                if kept.count < lines.count || cut {
                    do {
                        try AtomicFile.write(kept.joined(separator: "\n") + "\n", to: path)
                    } catch {
                        throw Refusal("--metrics-out \(path): cannot drop the records past the checkpoint: \(error)")
                    }
                }
            }
        } else if !FileManager.default.createFile(atPath: path, contents: nil) {
            throw Refusal("--metrics-out \(path) cannot be created")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw Refusal("--metrics-out \(path) cannot be opened for writing")
        }
        _ = try? handle.seekToEnd()
        self.handle = handle
    }

    func append(_ result: TrainingRun.EpochResult) throws {
        try append([
            "epoch": result.epoch, "train_loss": result.trainLoss, "test_loss": result.testLoss,
            "test_accuracy": result.testAccuracy, "lr": result.learningRate, "skipped_steps": result.skippedSteps,
            "seconds": result.seconds,
        ])
    }

    /// Appends `record` as one line, its keys sorted, non-finite numbers as `null`.
    func append(_ record: [String: Any]) throws {
        let values = record.mapValues { value -> Any in
            if let number = value as? Double, !number.isFinite { return NSNull() }
            return value
        }
        do {
            var line = try JSONSerialization.data(withJSONObject: values, options: [.sortedKeys])
            line.append(0x0A)
            try handle.write(contentsOf: line)
        } catch {
            throw Refusal("--metrics-out \(path): cannot write a record: \((error as NSError).localizedDescription)")
        }
    }
}

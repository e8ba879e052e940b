import Experiments
import Foundation

/// One JSON object per record, appended to a file (JSON Lines). `adamw train` writes one per epoch: epoch,
/// train_loss, test_loss, test_accuracy, lr (at the epoch's end), skipped_steps (so far), seconds; `adamw gpt` one
/// per evaluation, keyed by iter. A new run creates (or empties) the file; a resumed run at epoch (or iteration) k
/// continues it, after checking that its last line is k, so the records before the resume stay.
struct MetricsLog {
    let path: String
    private let handle: FileHandle

    /// Opens `path` for a run that starts after `epoch` (0: a new run); `key` names the count in each record.
    init(path: String, continuingAt epoch: Int, key: String = "epoch") throws {
        self.path = path
        if epoch > 0, FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("--metrics-out \(path) cannot be read")
            }
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
            let last = lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let noun = key == "epoch" ? "epoch" : "iteration"
            guard let lastEpoch = last?[key] as? Int else {
                throw CLIError("--metrics-out \(path) does not end with an \(noun)'s record; refusing to continue it")
            }
            guard lastEpoch == epoch else {
                throw CLIError("--metrics-out \(path) ends at \(noun) \(lastEpoch), the checkpoint at \(noun) \(epoch)")
            }
        } else if !FileManager.default.createFile(atPath: path, contents: nil) {
            throw CLIError("--metrics-out \(path) cannot be created")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CLIError("--metrics-out \(path) cannot be opened for writing")
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

    /// Appends `record` as one line, its keys sorted.
    func append(_ record: [String: Any]) throws {
        var line = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        line.append(0x0A)
        try handle.write(contentsOf: line)
    }
}

/// A failure the CLI reports in one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

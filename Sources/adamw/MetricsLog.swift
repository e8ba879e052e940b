import Experiments
import Foundation

/// One JSON object per epoch, appended to a file (JSON Lines): epoch, train_loss, test_loss, test_accuracy, lr (at
/// the epoch's end), skipped_steps (so far), seconds. The file is created (or emptied) when the run starts.
struct MetricsLog {
    let path: String
    private let handle: FileHandle

    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CLIError("cannot create the metrics file \(path)")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CLIError("cannot open the metrics file \(path)")
        }
        self.handle = handle
    }

    func append(_ result: TrainingRun.EpochResult) throws {
        let record: [String: Any] = [
            "epoch": result.epoch, "train_loss": result.trainLoss, "test_loss": result.testLoss,
            "test_accuracy": result.testAccuracy, "lr": result.learningRate, "skipped_steps": result.skippedSteps,
            "seconds": result.seconds,
        ]
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

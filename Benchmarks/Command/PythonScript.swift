import Foundation

/// A Python script run for a comparison (numpy, tiktoken): its standard output, or nil when it cannot run or fails
/// (the comparison is then skipped).
enum PythonScript {
    static func output(_ script: String, python: String = "python3", arguments: [String] = [],
                       environment changes: [String: String] = [:]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", script] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(changes) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

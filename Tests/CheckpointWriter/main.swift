// A helper for the atomic-write test: writes a large checkpoint to the path given, again and again, alternating
// between two versions (all values 1, then all values 2), until it is killed. The test kills it at random moments
// and checks that the file is always one whole version, and that an interrupt (SIGINT, SIGTERM: the cleanup
// `adamw` installs too) leaves no temporary file.
import Checkpoints
import Foundation
import Optim

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: checkpoint-writer <path>\n".utf8))
    exit(2)
}
InterruptCleanup.install()
let count = 4 << 20  // 16 MiB of data: long enough to be killed in the middle of a write
var version: Float = 1
let parent = getppid()
let deadline = Date().addingTimeInterval(120)
// Until killed, but never longer than two minutes or past the test that started it: a test run that is itself
// killed must not leave this loop writing forever.
while getppid() == parent && Date() < deadline {
    let state = StateDict(
        tensors: ["weights": .init(shape: [count], values: FloatBuffer(count: count, repeating: version))],
        metadata: ["version": String(Int(version))])
    do {
        try CheckpointFile.write(state, to: arguments[1])
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
    version = version == 1 ? 2 : 1
}

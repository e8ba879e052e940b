import Checkpoints
import Foundation
import Optim
import TestSupport
import Testing

struct CheckpointFileTests {
    static func sampleState() -> StateDict {
        var random = TestRandom(seed: 5)
        return StateDict(
            tensors: [
                "model.fc.weight": .init(shape: [10, 30], values: FloatBuffer(random.floats(300))),
                "model.fc.bias": .init(shape: [10], values: FloatBuffer(random.floats(10))),
                "optimizer.state.fc.weight.exp_avg": .init(shape: [10, 30], values: FloatBuffer(random.floats(300))),
            ],
            metadata: ["epoch": "3", "optimizer.type": "AdamW", "optimizer.groups": #"[{"lr":0.001}]"#])
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoints-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aCheckpointRoundTripsAndItsBytesAreDeterministic() throws {
        let state = Self.sampleState()
        let bytes = try CheckpointFile.encode(state)
        #expect(bytes == (try CheckpointFile.encode(state)), "the same state gives the same bytes")
        let decoded = try bytes.withUnsafeBytes { try CheckpointFile.decode($0) }
        #expect(decoded == state)
        let (_, metadata) = try bytes.withUnsafeBytes { try SafeTensors.decode($0) }
        #expect(metadata["format"] == "adamw-checkpoint" && metadata["format_version"] == "1")
        #expect(metadata["crc32"]?.count == 8)
        #expect(throws: SafeTensorsError.self) {
            try CheckpointFile.encode(StateDict(metadata: ["crc32": "0"]))
        }
    }

    /// A low-precision optimizer state (BF16 values, U8 codes of an odd byte count, F32 scales) goes through a
    /// checkpoint file as it is stored, in safetensors' layout: each tensor's bytes exactly (no padding), the dtype
    /// in the header, so Python's safetensors reads it too.
    @Test func lowPrecisionStatesRoundTripAsStored() throws {
        let parameter = try Parameter(name: "w", shape: [64, 128], values: (0..<8192).map { Float($0 % 13) * 0.1 })
        var state = StateDict()
        for storage in [StateStorage.bfloat16, .int8, .int4] {
            let optimizer = try AdamW([parameter], states: storage)
            parameter.grad = FloatBuffer((0..<8192).map { Float(sin(Double($0))) })
            try optimizer.step()
            state = state.merging(optimizer.stateDict(), prefix: "\(storage.rawValue).")
        }
        let odd: [UInt8] = [1, 2, 3, 4, 5]
        odd.withUnsafeBytes { state.tensors["odd"] = .init(shape: [5], bytes: $0, elementType: .uint8) }
        let bytes = try CheckpointFile.encode(state)
        let decoded = try bytes.withUnsafeBytes { try CheckpointFile.decode($0) }
        #expect(decoded == state)
        #expect(decoded.tensors["odd"]?.withUnsafeBytes { Array($0) } == odd)
        #expect(decoded.tensors["bf16.state.w.exp_avg"]?.elementType == .bfloat16)
        #expect(decoded.tensors["int8.state.w.exp_avg"]?.shape == [8192])
        #expect(decoded.tensors["int4.state.w.exp_avg"]?.shape == [4096])
        #expect(decoded.tensors["int4.state.w.exp_avg.scales"]?.shape == [64])
        // The header as Python reads it: dtype and offsets of whole bytes.
        let headerLength = bytes.withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
        let header = try #require(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
        let entry = try #require(header["odd"] as? [String: Any])
        #expect(entry["dtype"] as? String == "U8")
        let offsets = try #require(entry["data_offsets"] as? [Int])
        #expect(offsets[1] - offsets[0] == 5)
        let bf16 = try #require(header["bf16.state.w.exp_avg"] as? [String: Any])
        #expect(bf16["dtype"] as? String == "BF16" && (bf16["data_offsets"] as? [Int]).map { $0[1] - $0[0] } == 16384)
    }

    /// Every prefix of a checkpoint, at 128 offsets across the header and the data, is refused.
    @Test func everyTruncationIsRefused() throws {
        let bytes = try CheckpointFile.encode(Self.sampleState())
        var offsets = Set((0..<64).map { $0 * bytes.count / 64 })
        var random = TestRandom(seed: 9)
        while offsets.count < 128 { offsets.insert(Int(random.next() % UInt64(bytes.count))) }
        for offset in offsets.sorted() {
            let prefix = Array(bytes.prefix(offset))
            #expect(throws: SafeTensorsError.self, "cut at \(offset) of \(bytes.count)") {
                try prefix.withUnsafeBytes { try CheckpointFile.decode($0) }
            }
        }
    }

    /// 200 single-bit flips at random places — header length, JSON, hyperparameters, data — are all refused.
    @Test func everyFlippedBitIsRefused() throws {
        let bytes = try CheckpointFile.encode(Self.sampleState())
        var random = TestRandom(seed: 13)
        for trial in 0..<200 {
            var corrupt = bytes
            let position = trial < 40 ? trial * (8 + 400) / 40 : Int(random.next() % UInt64(bytes.count))
            corrupt[position] ^= UInt8(1) << UInt8(random.next() % 8)
            #expect(throws: SafeTensorsError.self, "bit flip at byte \(position)") {
                try corrupt.withUnsafeBytes { try CheckpointFile.decode($0) }
            }
        }
    }

    @Test func aFileWithoutChecksumOrOfAnotherFormatIsNotACheckpoint() throws {
        let plain = try SafeTensors.encode(Self.sampleState().tensors, metadata: ["format": "pt"])
        #expect(throws: SafeTensorsError.notACheckpoint("the format is 'pt'")) {
            try plain.withUnsafeBytes { try CheckpointFile.decode($0) }
        }
    }

    @Test func writeReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let directory = try Self.temporaryDirectory()
        let path = directory.appendingPathComponent("run.safetensors").path
        try CheckpointFile.write(Self.sampleState(), to: path)
        var changed = Self.sampleState()
        changed.metadata["epoch"] = "4"
        try CheckpointFile.write(changed, to: path)
        #expect(try CheckpointFile.read(path) == changed)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["run.safetensors"])
        #expect(throws: SafeTensorsError.self) {
            try CheckpointFile.write(changed, to: directory.appendingPathComponent("missing/run.safetensors").path)
        }
        #expect(throws: SafeTensorsError.self) { try CheckpointFile.read(directory.appendingPathComponent("none").path) }
    }

    /// A writer killed at random moments leaves the previous checkpoint or the new one, whole, every time. SIGKILL
    /// leaves its temporary file behind (the next writer removes it); SIGINT and SIGTERM leave none.
    @Test func killingTheWriterNeverLeavesAHalfWrittenCheckpoint() throws {
        let helper = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("checkpoint-writer")
        try #require(FileManager.default.isExecutableFile(atPath: helper.path), "no checkpoint-writer at \(helper.path)")
        let directory = try Self.temporaryDirectory()
        let path = directory.appendingPathComponent("run.safetensors").path
        var random = TestRandom(seed: 21)
        var versions = Set<String>()
        var killedMidWrite = 0, interruptedMidWrite = 0
        for round in 0..<18 {
            // Rounds 0, 1, 3, 4, …: SIGKILL; rounds 2, 5, 8, …: SIGINT or SIGTERM, always inside a write.
            let signal = round % 3 < 2 ? SIGKILL : (round % 2 == 0 ? SIGINT : SIGTERM)
            let process = Process()
            process.executableURL = helper
            process.arguments = [path]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            if round == 0 {
                // A slow (sanitized, debug) build may take a while for its first whole checkpoint.
                var waited = 0
                while !FileManager.default.fileExists(atPath: path) && waited < 120_000 {
                    usleep(10_000)
                    waited += 10
                }
            }
            usleep(useconds_t(20_000 + random.next() % 200_000))
            // Most of the writer's time goes to building and encoding the state; to kill it inside a write, wait
            // until its temporary file exists (half the rounds), so that the test proves what it claims.
            let temporary = ".run.safetensors.tmp-\(process.processIdentifier)-"
            if round % 3 == 1 || signal != SIGKILL {
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline,
                      !((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
                        .contains(where: { $0.hasPrefix(temporary) }) {}
            }
            let midWrite = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
                .contains { $0.hasPrefix(temporary) }
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signal)
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            if signal == SIGKILL {
                if names.contains(where: { $0.hasPrefix(temporary) }) { killedMidWrite += 1 }
            } else {
                if midWrite { interruptedMidWrite += 1 }
                #expect(!names.contains { $0.hasPrefix(temporary) }, "signal \(signal) left \(names)")
            }
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let state = try CheckpointFile.read(path)
            let version = try #require(state.metadata["version"])
            let expected: Float = version == "1" ? 1 : 2
            #expect(state.tensors["weights"]?.values.allSatisfy { $0 == expected } == true)
            versions.insert(version)
        }
        #expect(!versions.isEmpty, "the writer never finished a first checkpoint")
        #expect(killedMidWrite >= 1, "no kill landed inside a write")
        #expect(interruptedMidWrite >= 1, "no interrupt landed inside a write")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "run.safetensors" }
        #expect(leftovers.allSatisfy { $0.hasPrefix(".run.safetensors.tmp-") }, "only temporary files of killed writes")
        #expect(AtomicFile.removeStaleTemporaries(of: path) == leftovers.count, "the killed writers' temporaries are removed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["run.safetensors"])
    }
}

extension CheckpointFileTests {
    /// A checkpoint made by a short Python script (zlib.crc32 over the canonical header and the data): the format's
    /// checksum is reproducible outside this package.
    @Test func aCheckpointWrittenByAnIndependentScriptIsAccepted() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/safetensors/python-checkpoint.safetensors")
        let state = try CheckpointFile.read(url.path)
        #expect(state.metadata == ["epoch": "1"])
        #expect(state.tensors["model.fc.bias"]?.values == [0.5, -1.25])
        #expect(state.tensors["model.fc.weight"]?.shape == [2, 3])
        let ours = try CheckpointFile.encode(state)
        #expect(ours == (try [UInt8](Data(contentsOf: url))), "and our writer makes the same bytes")
    }
}

import Checkpoints
import Foundation
import Optim
import Testing

/// `--states` on `adamw train` and `adamw gpt`, resuming into another storage, `adamw memory` and
/// `adamw bench optimizer --states`, through the command line.
struct StatesCommandTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("states-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The MLP's first layer (100,352 weights) is quantized, its biases and the small layer keep float32.
    static let mlp = ["--model", "mlp", "--hidden", "128", "--batch-size", "500", "--no-progress", "--seed", "2"]

    @Test(arguments: ["bf16", "int8", "int4"])
    func anMLPTrainsWithEachStorageAndResumesBitExactly(_ states: String) throws {
        let folder = try Self.folder()
        let straight = folder.appendingPathComponent("straight.safetensors").path
        let resumed = folder.appendingPathComponent("resumed.safetensors").path
        let whole = try CLI.run(["train", "--epochs", "2", "--states", states, "--save", straight] + Self.mlp)
        #expect(whole.status == 0, "\(whole.error)")
        let accuracy = Double(CLI.summary(whole)["accuracy"] ?? "") ?? 0
        #expect(accuracy > 90, "\(states): \(accuracy)%")
        #expect(try CLI.run(["train", "--epochs", "1", "--states", states, "--save", resumed] + Self.mlp).status == 0)
        let rest = try CLI.run(["train", "--resume", resumed, "--epochs", "2", "--no-progress"])
        #expect(rest.status == 0, "\(rest.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: straight)) == Data(contentsOf: URL(fileURLWithPath: resumed)),
                "\(states): 1 + 1 epochs are not 2 byte for byte")
        let state = try CheckpointFile.read(straight)
        let codes = try #require(state.tensors["optimizer.state.layers.1.weight.exp_avg"])
        #expect(codes.elementType == (states == "bf16" ? .bfloat16 : .uint8))
        #expect(state.metadata["optimizer.state.layers.1.weight.storage"] == states)
    }

    @Test func aFloat32RunResumesWithEightBitStatesAndBack() throws {
        let folder = try Self.folder()
        let path = folder.appendingPathComponent("run.safetensors").path
        #expect(try CLI.run(["train", "--epochs", "1", "--save", path] + Self.mlp).status == 0)
        let toInt8 = try CLI.run(["train", "--resume", path, "--epochs", "2", "--states", "int8", "--no-progress"])
        #expect(toInt8.status == 0, "\(toInt8.error)")
        #expect(try CheckpointFile.read(path).tensors["optimizer.state.layers.1.weight.exp_avg"]?.elementType == .uint8)
        let back = try CLI.run(["train", "--resume", path, "--epochs", "3", "--states", "fp32", "--no-progress"])
        #expect(back.status == 0, "\(back.error)")
        #expect(try CheckpointFile.read(path).tensors["optimizer.state.layers.1.weight.exp_avg"]?.elementType == .float32)
        #expect((Double(CLI.summary(back)["accuracy"] ?? "") ?? 0) > 90)
    }

    @Test func statesApplyToAdamAdamWAndScheduleFreeOnly() throws {
        let sgd = try CLI.run(["train", "--optimizer", "sgd", "--states", "int8", "--epochs", "1"])
        #expect(sgd.status == 64 && sgd.error.contains("--states applies only to --optimizer adamw, adam or adamw-schedulefree"),
                "\(sgd.error)")
        let bad = try CLI.run(["train", "--states", "int3", "--epochs", "1"])
        #expect(bad.status == 64 && bad.error.contains("int3"), "\(bad.error)")
    }

    @Test func theGPTTrainsWithFourBitStates() throws {
        let folder = try Self.folder()
        let path = folder.appendingPathComponent("gpt.safetensors").path
        let result = try CLI.run(["gpt", "--iters", "3", "--states", "int4", "--save", path, "--layers", "1",
                                  "--embedding", "64", "--heads", "2", "--context", "32", "--batch-size", "4", "--no-progress"])
        #expect(result.status == 0, "\(result.error)")
        let state = try CheckpointFile.read(path)
        #expect(state.tensors["optimizer.state.transformer.h.0.mlp.c_fc.weight.exp_avg"]?.elementType == .uint8)
        #expect(state.tensors["optimizer.state.transformer.h.0.ln_1.weight.exp_avg"]?.elementType == .float32,
                "a LayerNorm weight is too small to quantize")
    }

    @Test func memoryCountsEachStorageAndMeasuresIt() throws {
        let result = try CLI.run(["memory", "--model", "gpt2-small"])
        #expect(result.status == 0, "\(result.error)")
        var perParameter: [String: Double] = [:], resident: [String: Double] = [:], total: [String: Double] = [:]
        for line in result.lines where line.hasPrefix("summary job=memory") {
            let fields = Dictionary(uniqueKeysWithValues: line.split(separator: " ").dropFirst().compactMap { pair in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            })
            guard let states = fields["states"] else { continue }
            perParameter[states] = Double(fields["bytes_per_param"] ?? "")
            resident[states] = Double(fields["state_resident_mb"] ?? "")
            total[states] = Double(fields["state_bytes_per_param"] ?? "").map { $0 * 124_439_808 / 1e6 }
        }
        #expect(perParameter["fp32"] == 16 && perParameter["bf16"] == 12, "\(perParameter)")
        #expect(abs((perParameter["int8"] ?? 0) - 10.037) < 0.001 && abs((perParameter["int4"] ?? 0) - 9.069) < 0.001)
        for states in ["fp32", "bf16", "int8", "int4"] {
            let counted = total[states] ?? 0, measured = resident[states] ?? 0
            #expect(abs(measured - counted) < 0.05 * counted, "\(states): resident \(measured) MB, counted \(counted) MB")
        }
        #expect(try CLI.run(["memory", "--states", "fp16"]).status == 64)
    }

    /// Schedule-Free's z and v, and decay toward a reference's float32 copy of the weights, counted and measured.
    @Test(arguments: [(["--optimizer", "adamw-schedulefree", "--states", "fp32,int8"], ["fp32": 16.0, "int8": 13.018]),
                      (["--decay-to", "initial", "--states", "fp32,int8"], ["fp32": 20.0, "int8": 14.037])])
    func memoryCountsScheduleFreeAndADecayReference(_ flags: [String], _ expected: [String: Double]) throws {
        let result = try CLI.run(["memory", "--model", "gpt2-small"] + flags)
        #expect(result.status == 0, "\(result.error)")
        var seen = 0
        for line in result.lines where line.hasPrefix("summary job=memory") {
            let fields = Dictionary(uniqueKeysWithValues: line.split(separator: " ").dropFirst().compactMap { pair in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            })
            let states = try #require(fields["states"]), parameters = Double(fields["parameters"] ?? "") ?? 0
            let perParameter = try #require(Double(fields["bytes_per_param"] ?? ""))
            #expect(abs(perParameter - (expected[states] ?? 0)) < 0.05, "\(states): \(perParameter)")
            let counted = (Double(fields["state_bytes_per_param"] ?? "") ?? 0) * parameters / 1e6
            let measured = Double(fields["state_resident_mb"] ?? "") ?? 0
            #expect(abs(measured - counted) < 0.05 * counted, "\(states): resident \(measured) MB, counted \(counted) MB")
            seen += 1
        }
        #expect(seen == expected.count, "\(result.output)")
        let refused = try CLI.run(["memory", "--optimizer", "adamw-schedulefree", "--decay-to", "initial"])
        #expect(refused.status == 64 && refused.error.contains("--decay-to initial applies only to --optimizer adamw"))
    }

    @Test func theOptimizerBenchmarkComparesStoragesInOneRun() throws {
        let result = try CLI.run(["bench", "optimizer", "--states", "bf16,int8,int4", "--parameters", "65536",
                                  "--samples", "1", "--threads", "2"])
        #expect(result.status == 0, "\(result.error)")
        for states in ["bf16", "int8", "int4"] {
            let line = try #require(result.lines.first { $0.hasPrefix("summary optimizer=adamw states=\(states) ") })
            #expect(line.contains("parameters=65536 threads=2 gparams_per_s=") && line.contains(" fp32_gparams_per_s="), "\(line)")
        }
        #expect(try CLI.run(["bench", "optimizer", "--states", "fp32"]).status == 64)
    }
}

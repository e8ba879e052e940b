import ArgumentParser
import Benchmarks
import CommandSupport
import NN
import Optim

/// `adamw memory`: what AdamW costs in memory per parameter and in total for a model, per state storage, beside
/// the seeds' 16 bytes a parameter, and the resident memory a real first step adds, to show the count is real.
struct MemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Bytes per parameter and totals of AdamW's weights, gradients and states, per storage (fp32, bf16, int8, int4).",
        discussion: """
            For each storage: the float32 weights and gradients, m and v as stored (float32, bfloat16, or 8-bit \
            and 4-bit codes) and the codes' float32 block scales, tensor by tensor (a tensor under 4096 elements \
            or not of whole blocks keeps float32 states), beside the seeds' 16 bytes a parameter. Then the \
            resident memory (VmRSS) that a real AdamW step adds when it creates its state, next to the count.
            """
    )

    @Option(help: "The model: \(MemoryModel.allCases.map(\.rawValue).joined(separator: ", ")) (default gpt2-small).")
    var model: MemoryModel = .gpt2Small

    @Option(help: "Storages, comma-separated (default fp32,bf16,int8,int4).")
    var states = "fp32,bf16,int8,int4"

    @Option(help: "The optimizer: adamw (m and v in the storage) or adamw-schedulefree (z in float32, v in the storage) (default adamw).")
    var optimizer: MemoryAccount.Optimizer = .adamw

    @Option(help: "What AdamW's decay pulls toward: zero, or initial (a float32 reference of every weight, kept as state) (default zero).")
    var decayTo: WeightDecayTarget = .zero

    @Flag(help: "Skip the resident-memory measurement.")
    var noMeasure = false

    func validate() throws {
        _ = try storages()
        if optimizer == .adamwScheduleFree && decayTo != .zero {
            throw ValidationError("--decay-to \(decayTo.rawValue) applies only to --optimizer adamw")
        }
    }

    private func storages() throws -> [StateStorage] {
        // Empty names are kept, so that "" and "fp32,,int8" are refused rather than read as fewer storages.
        try states.split(separator: ",", omittingEmptySubsequences: false).map { name in
            guard let storage = StateStorage(rawValue: String(name)) else {
                throw ValidationError("--states must list one or more of fp32, bf16, int8 and int4, comma-separated, got '\(states)'")
            }
            return storage
        }
    }

    func run() throws {
        let tensors = model.tensors
        let decayReference = decayTo != .zero
        let accounts = try storages().map {
            MemoryAccount($0, tensors: tensors, optimizer: optimizer, decayReference: decayReference)
        }
        let parameters = accounts.first?.parameters ?? 0
        print("\(model.rawValue): \(tensors.count) tensors, \(parameters) parameters")
        let names = accounts.first?.buffers.map(\.name) ?? []
        let widths = [6, 9, 9] + names.map { _ in 9 } + [9, 9, 8, 8]
        print(tableRow(["states", "weights", "grads"] + names + ["scales", "total", "B/param", "state B/p"], widths: widths))
        for account in accounts {
            print(tableRow([account.storage.rawValue, megabytes(account.weightBytes), megabytes(account.gradientBytes)]
                            + account.buffers.map { megabytes($0.bytes) }
                            + [megabytes(account.scaleBytes), megabytes(account.totalBytes),
                               format(account.bytesPerParameter, 2), format(account.stateBytesPerParameter, 2)], widths: widths))
        }
        print("the seeds' count: \(format(MemoryAccount.seedsBytesPerParameter, 0)) B/param "
              + "(\(megabytes(parameters * 16)) for this model); sizes in MB (10^6 bytes)")
        var lines = accounts.map { account in
            "summary job=memory model=\(model.rawValue) optimizer=\(optimizer.rawValue) decay_to=\(decayTo.rawValue) "
                + "states=\(account.storage.rawValue) parameters=\(parameters) "
                + "bytes_per_param=\(format(account.bytesPerParameter, 3)) state_bytes_per_param=\(format(account.stateBytesPerParameter, 3)) "
                + "total_mb=\(format(Double(account.totalBytes) / 1e6, 1))"
        }
        if !noMeasure {
            print("")
            print(tableRow(["states", "counted", "resident", "ratio"], widths: [6, 10, 10, 6]))
            for (index, account) in accounts.enumerated() {
                guard let measured = try MemoryAccount.measure(account.storage, tensors: tensors, optimizer: optimizer,
                                                               decayReference: decayReference) else {
                    print("resident memory: /proc/self/status is not available here")
                    break
                }
                let counted = account.stateBytes + account.scaleBytes
                print(tableRow([account.storage.rawValue, megabytes(counted), megabytes(measured),
                                format(Double(measured) / Double(max(counted, 1)), 2)], widths: [6, 10, 10, 6]))
                lines[index] += " state_resident_mb=\(format(Double(measured) / 1e6, 1))"
            }
        }
        for line in lines { print(line) }
    }

    private func megabytes(_ bytes: Int) -> String { format(Double(bytes) / 1e6, 1) }
}

/// The models `adamw memory` counts.
enum MemoryModel: String, CaseIterable, ExpressibleByArgument {
    case gpt2Small = "gpt2-small"
    case gpt = "gpt"
    case mnistMLP = "mnist-mlp"
    case manySmall = "many-small"

    var tensors: [BenchmarkModel.Tensor] {
        switch self {
        case .gpt2Small: BenchmarkModel.gpt2Small.tensors
        case .manySmall: BenchmarkModel.manySmall.tensors
        case .gpt:
            // `adamw gpt`'s model: nanoGPT's Tiny Shakespeare recipe over its 65 characters.
            GPT(GPT.Configuration(vocabularySize: 65)).namedParameters().map {
                BenchmarkModel.Tensor(name: $0.name, shape: $0.parameter.shape)
            }
        case .mnistMLP:
            [.init(name: "0.weight", shape: [128, 784]), .init(name: "0.bias", shape: [128]),
             .init(name: "2.weight", shape: [10, 128]), .init(name: "2.bias", shape: [10])]
        }
    }
}

extension MemoryAccount.Optimizer: ExpressibleByArgument {}
extension WeightDecayTarget: ExpressibleByArgument {}

import Benchmarks
import Foundation
import Testing

/// `adamw bench optimizer --model`: one AdamW step over a model's whole parameter list.
struct BenchOptimizerModelTests {
    @Test func theManySmallModelEndsWithASummaryNamingItsTensorsAndParameters() throws {
        let result = try CLI.run(["bench", "optimizer", "--model", "many-small", "--samples", "1"])
        #expect(result.status == 0, "\(result.error)")
        let line = result.lines.last ?? ""
        #expect(line.range(of: #"^summary optimizer=adamw model=many-small tensors=10000 parameters=10000000 threads=2 gparams_per_s=\d+\.\d{3} ceiling_gparams_per_s=\d+\.\d{3} cpu=(avx512|avx2|sse2|neon|generic)$"#,
                           options: .regularExpression) != nil, "\(result.lines)")
        #expect(result.lines.filter { $0.hasPrefix("summary ") }.count == 1)
    }

    @Test func aModelWithAParameterCountIsRefusedInOneLine() throws {
        let result = try CLI.run(["bench", "optimizer", "--model", "gpt2-small", "--parameters", "1024"])
        #expect(result.status == 64)
        let lines = result.error.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("--model and --parameters cannot be combined"), "\(lines)")
        #expect(result.output.isEmpty, "nothing is measured")
    }

    @Test func theGPT2SmallModelListsNanoGPTsTensorsWithTheirShapes() {
        let tensors = BenchmarkModel.gpt2Small.tensors
        #expect(tensors.count == 2 + 12 * 12 + 2)
        #expect(BenchmarkModel.gpt2Small.parameterCount == 124_439_808)
        #expect(tensors.first?.name == "transformer.wte.weight" && tensors.first?.shape == [50257, 768])
        #expect(tensors[1].name == "transformer.wpe.weight" && tensors[1].shape == [1024, 768])
        #expect(tensors.last?.name == "transformer.ln_f.bias" && tensors.last?.shape == [768])
        let block = tensors.filter { $0.name.hasPrefix("transformer.h.11.") }
        #expect(block.map(\.name) == ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                                      "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                                      "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]
            .map { "transformer.h.11.\($0)" })
        #expect(block.first { $0.name.hasSuffix("mlp.c_proj.weight") }?.shape == [768, 3072])
        #expect(tensors.filter { $0.shape.count >= 2 }.count == 2 + 4 * 12, "nanoGPT decays these, the rest not")
    }

    @Test func theManySmallModelIsTenThousandTensorsOfAThousand() {
        let tensors = BenchmarkModel.manySmall.tensors
        #expect(tensors.count == 10_000 && tensors.allSatisfy { $0.shape == [1000] })
        #expect(BenchmarkModel.manySmall.parameterCount == 10_000_000)
    }
}

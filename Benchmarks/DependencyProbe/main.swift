// The library as another package uses it, for Benchmarks/as-a-dependency.sh and its test: built here (the root
// build) and in a package that depends on this one by version, the same program must print the same numbers and,
// with no flags, nearly the same speed.
//
//     dependency-probe adamw <parameters> <steps>   AdamW steps over one tensor: a checksum of θ, then ms per step
//     dependency-probe gpt <iterations>             nanoGPT's Tiny Shakespeare recipe: each loss's bits, a checksum
//                                                   of the weights, then ms per iteration (the first left out)
//
// A checksum is an FNV-1a hash of the floats' bits: equal checksums are the same bits.
import Datasets
import Foundation
import NN

func checksum(_ parameters: [Parameter]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for parameter in parameters {
        for value in parameter.values.array {
            hash = (hash ^ UInt64(value.bitPattern)) &* 0x100_0000_01b3
        }
    }
    return String(hash, radix: 16)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

func adamw(parameters count: Int, steps: Int) throws {
    var random = RandomGenerator(seed: 7)
    let parameter = try Parameter(name: "w", shape: [count], values: (0..<count).map { _ in random.uniform(-1, 1) })
    let optimizer = try AdamW([parameter], lr: 1e-3, weightDecay: 0.1)
    parameter.grad = FloatBuffer((0..<count).map { _ in random.uniform(-1, 1) })
    try optimizer.step()  // the first step allocates the state
    print("adamw checksum=\(checksum([parameter]))")
    var times: [Double] = []
    for _ in 0..<steps {
        let start = monotonicSeconds()
        try optimizer.step()
        times.append(monotonicSeconds() - start)
    }
    print("adamw ms_per_step=\(String(format: "%.3f", 1000 * times.sorted()[times.count / 2]))")
}

func gpt(iterations: Int) throws {
    let corpus = try TextCorpus(contentsOf: TextCorpus.tinyShakespeare)
    manualSeed(1337)
    let model = GPT(GPT.Configuration(vocabularySize: corpus.vocabularySize, blockSize: 64, layers: 4, heads: 4,
                                      embedding: 128))
    let optimizer = try AdamW(WeightDecayRule.biasesAndNorms.groups(model.parameters(), weightDecay: 0.1),
                              lr: 1e-3, betas: (0.9, 0.99))
    var random = RandomGenerator(seed: 1337)
    var start = monotonicSeconds()
    for it in 0..<iterations {
        if it == 1 { start = monotonicSeconds() }
        let (x, y) = corpus.batch(.train, batchSize: 12, context: 64, using: &random)
        optimizer.zeroGrad()
        let loss = try model.loss(x, targets: y)
        try loss.backward()
        try clipGradNorm(model.parameters(), maxNorm: 1)
        try optimizer.step()
        print("gpt iteration=\(it) loss_bits=\(String(try loss.item().bitPattern, radix: 16))")
    }
    print("gpt checksum=\(checksum(model.parameters()))")
    if iterations > 1 {
        let ms = 1000 * (monotonicSeconds() - start) / Double(iterations - 1)
        print("gpt ms_per_iter=\(String(format: "%.2f", ms))")
    }
}

let arguments = CommandLine.arguments.dropFirst()
switch (arguments.first, arguments.dropFirst().compactMap { Int($0) }) {
case ("adamw", let numbers) where numbers.count == 2 && numbers.allSatisfy({ $0 > 0 }):
    try adamw(parameters: numbers[0], steps: numbers[1])
case ("gpt", let numbers) where numbers.count == 1 && numbers[0] > 0:
    try gpt(iterations: numbers[0])
default:
    fail("usage: dependency-probe adamw <parameters> <steps> | gpt <iterations> (positive integers)")
}

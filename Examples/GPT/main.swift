// nanoGPT's character-level Tiny Shakespeare run (its README's CPU recipe), as a nanoGPT user writes it: the model,
// AdamW with the Transformer recipe's two groups, nanoGPT's warm-up and cosine, clipping, then a sample.
// Run it with `swift run -c release gpt-example` (about two minutes on two cores); `adamw gpt` is the same run
// with evaluations, checkpoints and every option.
import Datasets
import Foundation
import NN

let corpus = try TextCorpus(contentsOf: TextCorpus.tinyShakespeare)
manualSeed(1337)
let model = GPT(GPT.Configuration(vocabularySize: corpus.vocabularySize, blockSize: 64, layers: 4, heads: 4, embedding: 128))
let optimizer = try AdamW(WeightDecayRule.biasesAndNorms.groups(model.parameters(), weightDecay: 0.1),
                          lr: 1e-3, betas: (0.9, 0.99))
let schedule = try LambdaLR(optimizer) { it in   // lr·(it+1)/101 for 100 iterations, then cosine to lr/10 at 2000
    it < 100 ? Double(it + 1) / 101 : 0.1 + 0.45 * (1 + cos(Double.pi * Double(min(it, 2000) - 100) / 1900))
}
var random = RandomGenerator(seed: 1337)
for it in 0..<2000 {
    let (x, y) = corpus.batch(.train, batchSize: 12, context: 64, using: &random)
    optimizer.zeroGrad()
    let loss = try model.loss(x, targets: y)
    try loss.backward()
    try clipGradNorm(model.parameters(), maxNorm: 1)
    try optimizer.step()
    try schedule.step()
    if it % 250 == 0 { print("iter \(it): loss \(try loss.item())") }
}
model.eval()
print(corpus.decode(try model.generate(from: corpus.encode("\n"), count: 300, temperature: 0.8, topK: 200, using: &random)))

// The seeds' MNIST example, as a PyTorch user writes it: one linear layer, AdamW, five epochs of batches of 64,
// the test accuracy after every epoch. Run it with `swift run -c release mnist-example`.
import Datasets
import Foundation
import NN

manualSeed(0)
let model = Sequential { Flatten(); Linear(784, 10) }
let optimizer = try AdamW(model.parameters(), lr: 1e-3, betas: (0.9, 0.999), eps: 1e-8, weightDecay: 0.01)
let trainSet = try MNIST(split: .train), testSet = try MNIST(split: .test)
let trainLoader = try DataLoader(trainSet, batchSize: 64, shuffle: true, seed: 0)
let testLoader = try DataLoader(testSet, batchSize: 1000)

// Evaluation mode, no gradients, the argmax of the logits against the labels; training mode again after.
@MainActor func test() throws {
    model.eval()
    defer { model.train() }
    let correct = try withNoGrad {
        var correct = 0
        for (data, target) in testLoader {
            correct += zip(try model(data).argmax(axis: 1), target).filter { $0 == $1 }.count
        }
        return correct
    }
    print("Test Accuracy: \(String(format: "%.2f", Double(correct) / Double(testSet.count) * 100))%")
}

for epoch in 1...5 {
    model.train()
    var lossSum: Float = 0, batches = 0
    for (data, target) in trainLoader {
        optimizer.zeroGrad()
        let loss = try crossEntropy(model(data), target)
        try loss.backward()
        try optimizer.step()
        lossSum += try loss.item()
        batches += 1
    }
    print("Epoch \(epoch), Loss: \(String(format: "%.4f", lossSum / Float(batches)))")
    try test()
}

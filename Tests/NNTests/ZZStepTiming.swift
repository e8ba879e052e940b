import Datasets
import Foundation
import NN
import Testing

@Test func zzStepTiming() throws {
    let train = try MNIST(split: .train)
    manualSeed(0)
    let model = Sequential { Flatten(); Linear(784, 10) }
    let optimizer = try AdamW(model.parameters())
    let loader = try DataLoader(train, batchSize: 64, shuffle: true, seed: 0)
    var tBatch = 0.0, tForward = 0.0, tBackward = 0.0, tStep = 0.0
    func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }
    var iterator = loader.makeIterator()
    var steps = 0
    while true {
        let t0 = now()
        guard let (data, target) = iterator.next() else { break }
        let t1 = now()
        optimizer.zeroGrad()
        let loss = try crossEntropy(model(data), target)
        let t2 = now()
        try loss.backward()
        let t3 = now()
        try optimizer.step()
        _ = try loss.item()
        let t4 = now()
        tBatch += t1 - t0; tForward += t2 - t1; tBackward += t3 - t2; tStep += t4 - t3
        steps += 1
    }
    print("per step µs: batch \(tBatch / Double(steps) * 1e6) forward \(tForward / Double(steps) * 1e6) backward \(tBackward / Double(steps) * 1e6) step \(tStep / Double(steps) * 1e6)")
}

@Test func zzFillTiming() throws {
    let train = try MNIST(split: .train)
    func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }
    var random = RandomGenerator(seed: 1)
    let order = random.permutation(60000)
    for label in ["sequential", "random", "random-twice"] {
        var total = 0.0
        var sink: Float = 0
        for b in 0..<900 {
            let start = b * 64
            let sequential = Array(start..<(start + 64))
            let idx: ArraySlice<Int> = label == "sequential" ? sequential[...] : order[start..<(start + 64)]

            if label == "random-twice" { _ = train.batch(idx) }
            let t0 = now()
            let (x, _) = train.batch(idx)
            total += now() - t0
            sink += x.values[5]
        }
        print("fill \(label): \(total / 900 * 1e6) µs per batch \(sink)")
    }
}

@Test func zzGemmTiming() throws {
    func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9 }
    let x = FloatBuffer(count: 64 * 784, repeating: 0.5), w = FloatBuffer(count: 10 * 784, repeating: 0.25)
    var c = FloatBuffer(count: 64 * 10), dw = FloatBuffer(count: 10 * 784)
    let g = FloatBuffer(count: 640, repeating: 0.1)
    for _ in 0..<3 {
        var t0 = now()
        for _ in 0..<1000 {
            x.withUnsafeBufferPointer { x in w.withUnsafeBufferPointer { w in c.withUnsafeMutableBufferPointer { c in
                GEMM.multiply(m: 64, n: 10, k: 784, a: x.baseAddress!, lda: 784, transposeA: false, b: w.baseAddress!, ldb: 784, transposeB: true, c: c.baseAddress!, ldc: 10, accumulate: false) } } }
        }
        let forward = (now() - t0) / 1000 * 1e6
        t0 = now()
        for _ in 0..<1000 {
            g.withUnsafeBufferPointer { g in x.withUnsafeBufferPointer { x in dw.withUnsafeMutableBufferPointer { dw in
                GEMM.multiply(m: 10, n: 784, k: 64, a: g.baseAddress!, lda: 10, transposeA: true, b: x.baseAddress!, ldb: 784, transposeB: false, c: dw.baseAddress!, ldc: 784, accumulate: false) } } }
        }
        let backward = (now() - t0) / 1000 * 1e6
        print("gemm forward \(forward) µs, dW \(backward) µs")
    }
}

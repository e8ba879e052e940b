import Foundation
import Kernels
import TestSupport
import Testing

/// Schedule-Free's v in bfloat16 and in torchao's 8- and 4-bit storage: the kernel (decode a few blocks to float32
/// on the stack, the float32 step, encode) against a scalar reference of the same three stages, bit for bit, on 1
/// and 2 threads and every path this CPU runs; and near the float32 step.
struct ScheduleFreeLowBitTests {
    static let count = 16 * 4096 + 512  // two threads' chunks, pieces of the stack buffer, whole 8- and 4-bit blocks
    static let steps = 4

    /// v's words (bfloat16 halves or codes) and scales for `count` elements of `storage`, all zero.
    struct Stored {
        var words: [UInt8], scales: [Float]
        init(_ storage: StateStorage, count: Int) {
            words = [UInt8](repeating: 0, count: 4 * storage.codeWords(forCount: count))
            scales = [Float](repeating: 0, count: storage.scaleCount(forCount: count))
        }
    }

    /// The value of element i as stored.
    static func decode(_ stored: Stored, _ i: Int, _ storage: StateStorage) -> Float {
        switch storage {
        case .float32: return stored.words.withUnsafeBytes { $0.load(fromByteOffset: 4 * i, as: Float.self) }
        case .bfloat16: return BFloat16.value(stored.words.withUnsafeBytes { $0.load(fromByteOffset: 2 * i, as: UInt16.self) })
        case .int8, .int4:
            let map = storage.unsignedMap!
            let code = map.bits == 8 ? Int(stored.words[i])
                : Int(i % 2 == 0 ? stored.words[i / 2] >> 4 : stored.words[i / 2] & 15)
            return map.values[code] * stored.scales[i / map.blockSize]
        }
    }

    /// `values` stored: bfloat16 rounded to nearest even, or each block scaled by its largest magnitude (at least
    /// 1e-12) and coded by the map's reference rule.
    static func encode(_ values: [Float], into stored: inout Stored, _ storage: StateStorage) {
        switch storage {
        case .float32:
            stored.words.withUnsafeMutableBytes { bytes in
                for (i, value) in values.enumerated() { bytes.storeBytes(of: value, toByteOffset: 4 * i, as: Float.self) }
            }
        case .bfloat16:
            stored.words.withUnsafeMutableBytes { bytes in
                for (i, value) in values.enumerated() { bytes.storeBytes(of: BFloat16.bits(value), toByteOffset: 2 * i, as: UInt16.self) }
            }
        case .int8, .int4:
            let map = storage.unsignedMap!
            for block in 0..<(values.count / map.blockSize) {
                let range = (block * map.blockSize)..<((block + 1) * map.blockSize)
                let largest = values[range].reduce(Float(0)) { $0.isNaN ? $0 : ($1.isNaN ? $1 : max($0, abs($1))) }
                let scale = largest.isNaN ? largest : max(largest, 1e-12)
                stored.scales[block] = scale
                for i in range {
                    let code = UInt8(map.referenceCode(of: values[i] / scale))
                    if map.bits == 8 { stored.words[i] = code } else if i % 2 == 0 {
                        stored.words[i / 2] = (stored.words[i / 2] & 0x0F) | code << 4
                    } else {
                        stored.words[i / 2] = (stored.words[i / 2] & 0xF0) | code
                    }
                }
            }
        }
    }

    /// y, z and v's words and scales after ``steps`` steps, by the kernel or the reference.
    static func run(_ storage: StateStorage, threads: Int, reference: Bool, path: CPUPath) throws -> [[Float]] {
        var random = TestRandom(seed: 77)
        var y = random.floats(count), z = [Float](repeating: 0, count: count)
        var stored = Stored(storage, count: count)
        let pool = try ThreadPool(threadCount: threads)
        var lrMax = -1.0, weightSum = 0.0
        for step in 0..<steps {
            var grads = random.floats(count, scale: 2)
            grads[5000] = 0
            let kernel = ScheduleFreeStepTests.Variant(weightDecay: 0.1)
                .kernel(step: step, lrMax: &lrMax, weightSum: &weightSum)
            if reference {
                var v = (0..<count).map { decode(stored, $0, storage) }
                y.withUnsafeMutableBufferPointer { y in z.withUnsafeMutableBufferPointer { z in
                    v.withUnsafeMutableBufferPointer { v in grads.withUnsafeBufferPointer { g in
                        kernel.applyReference(.init(param: y.baseAddress!, grad: g.baseAddress!, z: z.baseAddress!,
                                                    expAvgSq: v.baseAddress!), count: count, fused: path.isFused)
                    } }
                } }
                encode(v, into: &stored, storage)
            } else {
                y.withUnsafeMutableBufferPointer { y in z.withUnsafeMutableBufferPointer { z in
                    stored.words.withUnsafeMutableBytes { words in stored.scales.withUnsafeMutableBufferPointer { scales in
                        grads.withUnsafeBufferPointer { g in
                            let streams = ScheduleFreeStep.Streams(
                                param: y.baseAddress!, grad: g.baseAddress!, z: z.baseAddress!,
                                expAvgSq: words.baseAddress!.assumingMemoryBound(to: Float.self), storage: storage,
                                expAvgSqScales: scales.baseAddress)
                            ThreadPool.$current.withValue(pool) {
                                CPUPath.$forced.withValue(path) { kernel.apply(streams, count: count) }
                            }
                        }
                    } }
                } }
            }
        }
        let words = stored.words.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return [y, z, words, stored.scales]
    }

    @Test(arguments: [StateStorage.bfloat16, .int8, .int4])
    func theKernelIsItsScalarReferenceBitForBit(_ storage: StateStorage) throws {
        for path in [CPUPath.detected, .avx2, .generic].filter(\.isSupported) {
            let reference = try Self.run(storage, threads: 1, reference: true, path: path)
            for threads in [1, 2] {
                let kernel = try Self.run(storage, threads: threads, reference: false, path: path)
                expectBitwiseEqual(["y", "z", "v's words", "v's scales"], kernel, reference, "\(storage) \(path) \(threads) threads")
            }
        }
    }

    /// v stored in fewer bits moves y a little: after the steps, y's move differs from float32's by a fraction of it
    /// (in norm) that grows as the storage coarsens (4-bit v has 16 levels a block).
    @Test(arguments: [StateStorage.bfloat16, .int8, .int4])
    func lowBitStateStaysNearTheFloat32Step(_ storage: StateStorage) throws {
        let exact = try Self.run(.float32, threads: 1, reference: true, path: .detected)[0]
        let low = try Self.run(storage, threads: 2, reference: false, path: .detected)[0]
        let start = Self.startingValues()
        var moved = 0.0, apart = 0.0
        for i in exact.indices {
            moved += Double(exact[i] - start[i]) * Double(exact[i] - start[i])
            apart += Double(low[i] - exact[i]) * Double(low[i] - exact[i])
        }
        let bounds: [StateStorage: Double] = [.bfloat16: 0.01, .int8: 0.05, .int4: 0.2]
        let bound = bounds[storage] ?? 0
        #expect(apart.squareRoot() < bound * moved.squareRoot(), "\(storage): \(apart.squareRoot()) off a move of \(moved.squareRoot())")
    }

    static func startingValues() -> [Float] {
        var random = TestRandom(seed: 77)
        return random.floats(count)
    }
}

import Kernels
import TestSupport
import Testing

struct ReductionsTests {
    static func values(_ count: Int) -> [Float] {
        var random = TestRandom(seed: 99)
        return random.floats(count, scale: 3)
    }

    func onThreads<R>(_ threads: Int, _ body: () -> R) throws -> R {
        try ThreadPool.$current.withValue(ThreadPool(threadCount: threads), operation: body)
    }

    @Test(arguments: [0, 1, 15, 17, 1_000_003])
    func normsMatchAPlainDoubleLoopAndDoNotDependOnThreadCount(count: Int) throws {
        let x = Self.values(count)
        let squares = x.reduce(0.0) { $0 + Double($1) * Double($1) }
        let magnitudes = x.reduce(0.0) { $0 + Double(abs($1)) }
        let cubes = x.reduce(0.0) { $0 + Double(abs($1)) * Double(abs($1)) * Double(abs($1)) }
        let largest = x.map(abs).max() ?? 0
        for threads in [1, 2] {
            try onThreads(threads) {
                x.withUnsafeBufferPointer { p in
                    let base = p.baseAddress ?? UnsafePointer(bitPattern: 64)!
                    #expect(abs(Reductions.sumOfSquares(base, count: count) - squares) <= 1e-9 * max(squares, 1))
                    #expect(abs(Reductions.sumOfMagnitudes(base, count: count) - magnitudes) <= 1e-9 * max(magnitudes, 1))
                    #expect(abs(Reductions.sumOfPowers(base, count: count, exponent: 3) - cubes) <= 1e-9 * max(cubes, 1))
                    #expect(Reductions.maxMagnitude(base, count: count) == largest)
                }
            }
        }
        let one = try onThreads(1) { x.withUnsafeBufferPointer { Reductions.sumOfSquares($0.baseAddress ?? UnsafePointer(bitPattern: 64)!, count: count) } }
        let two = try onThreads(2) { x.withUnsafeBufferPointer { Reductions.sumOfSquares($0.baseAddress ?? UnsafePointer(bitPattern: 64)!, count: count) } }
        #expect(one.bitPattern == two.bitPattern)
    }

    @Test func maxMagnitudePropagatesNaNAndSeesInfinity() {
        var x = Self.values(100)
        x[70] = -.infinity
        #expect(x.withUnsafeBufferPointer { Reductions.maxMagnitude($0.baseAddress!, count: 100) } == .infinity)
        x[5] = .nan
        #expect(x.withUnsafeBufferPointer { Reductions.maxMagnitude($0.baseAddress!, count: 100) }.isNaN)
    }

    @Test func scaleMultipliesEveryElement() throws {
        let x = Self.values(1_000_003)
        var buffer = FloatBuffer(x)
        try onThreads(2) {
            buffer.withUnsafeMutableBufferPointer { Reductions.scale($0.baseAddress!, count: $0.count, by: 0.25) }
        }
        #expect(buffer.array == x.map { $0 * 0.25 })
    }
}

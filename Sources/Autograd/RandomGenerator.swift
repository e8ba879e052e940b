#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Kernels

/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64): fast, small, and the same sequence
/// on every platform for the same seed.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mix = seed
        func splitMix() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        words = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The generator's whole state, to save a run and continue it later with ``init(state:)``.
    public var state: [UInt64] { [words.0, words.1, words.2, words.3] }

    /// A generator continuing from ``state``; nil unless it has four words, not all zero.
    public init?(state words: [UInt64]) {
        guard words.count == 4, words.contains(where: { $0 != 0 }) else { return nil }
        self.words = (words[0], words[1], words[2], words[3])
    }

    public mutating func next() -> UInt64 {
        let result = ((words.1 &* 5) << 7 | (words.1 &* 5) >> 57) &* 9
        let t = words.1 << 17
        words.2 ^= words.0
        words.3 ^= words.1
        words.1 ^= words.2
        words.0 ^= words.3
        words.2 ^= t
        words.3 = words.3 << 45 | words.3 >> 19
        return result
    }

    /// Uniform in [low, high), from the top 24 bits (every Float in range is reachable on a 2⁻²⁴ grid).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) * 0x1p-24
    }

    /// A standard normal sample (Box–Muller, in Double).
    public mutating func normal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// A uniformly random permutation of 0..<count (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var values = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                values.swapAt(i, Int.random(in: 0...i, using: &self))
            }
        }
        return values
    }
}

/// A seeded generator that a piece of work keeps and binds while it runs (``withRandomGenerator(_:_:)``), so that
/// several runs can proceed on several threads, each drawing its own reproducible sequence.
public final class RandomStream: @unchecked Sendable {
    let generator: Locked<RandomGenerator>

    public init(seed: UInt64) { generator = Locked(RandomGenerator(seed: seed)) }

    /// The stream's state, to save with a checkpoint.
    public var state: [UInt64] { generator.withLock { $0.state } }

    /// The next 64 bits of the stream (to seed a stream of its own, as each micro-batch's dropout is seeded).
    public func next() -> UInt64 { generator.withLock { $0.next() } }

    /// Continues from a saved ``state``; false (and no change) if the state is invalid.
    @discardableResult
    public func restore(_ words: [UInt64]) -> Bool {
        guard let restored = RandomGenerator(state: words) else { return false }
        generator.withLock { $0 = restored }
        return true
    }
}

/// The generator that parameter initialization and dropout draw from: the stream bound to the current task or
/// thread by ``withRandomGenerator(_:_:)``, or else the process's seeded generator (as `torch.manual_seed`). The
/// data loader derives its own from a seed. The process-wide generator is the project's one piece of global mutable
/// state; it is protected by a lock.
public enum GlobalRandom {
    static let generator = Locked(RandomGenerator(seed: 0))

    @TaskLocal static var scoped: RandomStream?

    /// The current generator's state, to save with a checkpoint.
    public static var state: [UInt64] { with { $0.state } }

    /// Continues the current generator from a saved ``state``; false if the state is invalid.
    @discardableResult
    public static func restore(_ words: [UInt64]) -> Bool {
        guard let restored = RandomGenerator(state: words) else { return false }
        with { $0 = restored }
        return true
    }

    /// Runs `body` with exclusive use of the current generator.
    public static func with<R>(_ body: (inout RandomGenerator) -> R) -> R {
        if let scoped { return scoped.generator.withLock { body(&$0) } }
        return generator.withLock { body(&$0) }
    }
}

/// Seeds the process's generator: the same seed gives the same initialization and dropout masks.
public func manualSeed(_ seed: UInt64) {
    GlobalRandom.generator.withLock { $0 = RandomGenerator(seed: seed) }
}

/// Runs `body` drawing random numbers (initialization, dropout) from `stream` instead of the global generator.
/// `body`'s error comes out with its own type.
public func withRandomGenerator<R, E: Error>(_ stream: RandomStream, _ body: () throws(E) -> R) throws(E) -> R {
    try GlobalRandom.$scoped.withValue(stream) { Result(catching: body) }.get()
}

/// Runs `body` with a generator of its own, seeded with `seed`: a reproducible run that other threads' use of the
/// global generator cannot disturb.
public func withRandomGenerator<R, E: Error>(seed: UInt64, _ body: () throws(E) -> R) throws(E) -> R {
    try withRandomGenerator(RandomStream(seed: seed), body)
}

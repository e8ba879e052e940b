#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser

/// Sizes checked before anything is allocated: a count is multiplied out with overflow checks and compared with
/// the memory this machine has, and a size too large is one line naming the flag, the value and the limit
/// (instead of a trap in the allocator).
enum MemoryLimit {
    /// The machine's physical memory, in bytes.
    static var physicalBytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return .max }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: size)
        return overflow ? .max : bytes
    }

    /// The product of `factors`, or nil when it overflows `Int`.
    static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            result = next
        }
        return result
    }

    /// Throws a ``ValidationError`` naming `flag` and `value` unless `bytes` (nil: overflowed) fit in memory.
    static func require(_ flag: String, _ value: String, needs bytes: Int?, for what: String) throws {
        let limit = physicalBytes
        guard let bytes, bytes <= limit else {
            let need = bytes.map { "\(gigabytes($0)) GB" } ?? "more bytes than an Int can count"
            throw ValidationError("\(flag) \(value) needs \(need) for \(what); this machine has \(gigabytes(limit)) GB")
        }
    }

    /// An MLP on MNIST with `hidden` layers: its parameter count, or nil on overflow.
    static func mlpParameters(hidden: [Int], inputs: Int = 784, classes: Int = 10) -> Int? {
        let widths = [inputs] + hidden + [classes]
        var total = 0
        for (from, to) in zip(widths, widths.dropFirst()) {
            guard let weights = product([from, to]) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(weights &+ to)
            guard !overflow, weights <= Int.max - to else { return nil }
            total = sum
        }
        return total
    }

    /// Checks that an MLP with `hidden` fits, at 16 bytes a parameter (weights, gradients and two moments).
    static func requireMLP(hidden: [Int], text: String) throws {
        let bytes = mlpParameters(hidden: hidden).flatMap { product([$0, 16]) }
        try require("--hidden", text, needs: bytes, for: "the model's weights, gradients and optimizer state")
    }

    private static func gigabytes(_ bytes: Int) -> String {
        let value = Double(bytes) / Double(1 << 30)
        return value >= 10 ? String(Int(value.rounded())) : String(Double(Int(value * 10)) / 10)
    }
}

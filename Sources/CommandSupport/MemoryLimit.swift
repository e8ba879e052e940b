#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation

/// Sizes checked before anything is allocated: a count is multiplied out with overflow checks and compared with
/// the memory this process can have, and a size too large is one line naming the flag, the value and the limit
/// (instead of a trap in the allocator, or the kernel's OOM killer).
///
/// What a process can have is the least of the machine's physical memory, the memory available now (Linux's
/// `MemAvailable` plus free swap: more than that, and an allocation fails or another process is killed), and the
/// room its resource limits (`ulimit -v`, `ulimit -d`) leave above what it already maps.
public enum MemoryLimit {
    /// The machine's physical memory, in bytes.
    public static var physicalBytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return .max }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: size)
        return overflow ? .max : bytes
    }

    /// What this process can allocate now, in bytes, and how to say where the limit comes from.
    public static var usable: (bytes: Int, description: String) {
        let physical = physicalBytes
        var bytes = physical
        var description = "this machine has \(gigabytes(physical)) GB"
        let meminfo = keyedKilobytes("/proc/meminfo")
        if let available = meminfo["MemAvailable"] {
            let free = available + (meminfo["SwapFree"] ?? 0)
            if free < bytes {
                bytes = free
                description += ", \(size(free)) of it available now"
            }
        }
        let status = keyedKilobytes("/proc/self/status")
        for (resource, used, name) in [(RLIMIT_AS, status["VmSize"], "ulimit -v"), (RLIMIT_DATA, status["VmData"], "ulimit -d")] {
            var limit = rlimit()
            guard getrlimit(Int32(resource.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max,
                  limit.rlim_cur < UInt64(Int.max) else { continue }
            let room = max(0, Int(limit.rlim_cur) - (used ?? 0))
            if room < bytes {
                bytes = room
                description = "this machine has \(gigabytes(physical)) GB, but this process may allocate only "
                    + "\(size(room)) more (\(name))"
            }
        }
        return (bytes, description)
    }

    /// The `Key: N kB` lines of a /proc file, in bytes.
    private static func keyedKilobytes(_ path: String) -> [String: Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let fields = parts[1].split(separator: " ")
            guard let number = fields.first.flatMap({ Int($0) }), fields.dropFirst().first == "kB" else { continue }
            values[String(parts[0])] = number.multipliedReportingOverflow(by: 1024).partialValue
        }
        return values
    }

    /// The product of `factors`, or nil when it overflows `Int`.
    public static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            result = next
        }
        return result
    }

    /// Throws a ``ValidationError`` naming `flag` and `value` unless `bytes` (nil: overflowed) fit in memory.
    public static func require(_ flag: String, _ value: String, needs bytes: Int?, for what: String) throws {
        let limit = usable
        guard let bytes, bytes <= limit.bytes else {
            let need = bytes.map { size($0) } ?? "more bytes than an Int can count"
            throw ValidationError("\(flag) \(value) needs \(need) for \(what); \(limit.description)")
        }
    }

    /// An MLP on MNIST with `hidden` layers: its parameter count, or nil on overflow.
    public static func mlpParameters(hidden: [Int], inputs: Int = 784, classes: Int = 10) -> Int? {
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
    public static func requireMLP(hidden: [Int], text: String) throws {
        let bytes = mlpParameters(hidden: hidden).flatMap { product([$0, 16]) }
        try require("--hidden", text, needs: bytes, for: "the model's weights, gradients and optimizer state")
    }

    /// `bytes` in MB below a gigabyte, in GB from there.
    public static func size(_ bytes: Int) -> String {
        bytes < 1 << 30 ? "\(max(1, bytes >> 20)) MB" : "\(gigabytes(bytes)) GB"
    }

    public static func gigabytes(_ bytes: Int) -> String {
        let value = Double(bytes) / Double(1 << 30)
        return value >= 10 ? String(Int(value.rounded())) : String(Double(Int(value * 10)) / 10)
    }
}

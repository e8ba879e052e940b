import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The instruction set the C kernels (module `CKernels`) run: each is compiled once per set and chosen at run time,
/// so the package is as fast wherever it is built, with no compiler flags. The best this CPU runs is the default;
/// `ADAMW_CPU=avx2|sse2|generic` (or any other this CPU runs) forces a lower one, as the tests do to run every path.
public enum CPUPath: String, CaseIterable, Sendable {
    /// The kernels' C for the baseline of whatever CPU the package is built for, without fused multiply-adds (on
    /// x86-64 the code of ``sse2``).
    case generic
    /// x86-64's baseline, without fused multiply-adds (a multiply-add rounds twice: other bits than the FMA paths').
    case sse2
    /// AVX2 with FMA.
    case avx2
    /// AVX-512 (F, BW, VL) with FMA.
    case avx512
    /// arm64's Advanced SIMD.
    case neon

    /// The path's number in `CKernels`.
    @usableFromInline var code: Int32 {
        switch self {
        case .generic: Int32(ADAMW_CPU_GENERIC)
        case .sse2: Int32(ADAMW_CPU_SSE2)
        case .avx2: Int32(ADAMW_CPU_AVX2)
        case .avx512: Int32(ADAMW_CPU_AVX512)
        case .neon: Int32(ADAMW_CPU_NEON)
        }
    }

    /// The best path this CPU runs.
    public static let detected: CPUPath = allCases.first { $0.code == adamw_cpu_detected() } ?? .generic

    /// Whether the path's multiply-adds round once (AVX-512, AVX2, NEON) or twice (SSE2, generic): the two
    /// families of bits.
    public var isFused: Bool { self == .avx512 || self == .avx2 || self == .neon }

    /// Whether this CPU runs the path.
    public var isSupported: Bool { adamw_cpu_supports(code) != 0 }

    /// The paths this CPU runs, lowest first.
    public static var supported: [CPUPath] { allCases.filter(\.isSupported) }

    /// The path of this process: `ADAMW_CPU`'s when it names one this CPU runs, else ``detected``.
    public static let selected: CPUPath = (try? fromEnvironment()) ?? detected

    /// A path forced for the work a task does inside `CPUPath.$forced.withValue(path) { … }` (the tests run every
    /// path in one process this way); nil outside.
    @TaskLocal public static var forced: CPUPath?

    /// The path the kernels take: ``forced``, else ``selected``. A kernel reads it once, on the calling thread, and
    /// hands it to the pool's threads with its work (a task-local value is not seen by the pool's threads).
    public static var current: CPUPath { forced ?? selected }

    /// The path `ADAMW_CPU` names (nil when it is unset or empty).
    /// - Throws: ``CPUPathError`` for a name that is not a path, or a path this CPU does not run.
    public static func fromEnvironment() throws(CPUPathError) -> CPUPath? {
        guard let value = getenv("ADAMW_CPU").map({ String(cString: $0) }), !value.isEmpty else { return nil }
        guard let path = CPUPath(rawValue: value) else { throw CPUPathError(value: value, reason: "is not a path") }
        guard path.isSupported else { throw CPUPathError(value: value, reason: "is not run by this CPU") }
        return path
    }
}

/// An `ADAMW_CPU` that names no path this CPU runs.
public struct CPUPathError: Error, CustomStringConvertible {
    public let value: String
    public let reason: String
    public var description: String {
        "ADAMW_CPU=\(value) \(reason): this CPU runs \(CPUPath.supported.map(\.rawValue).joined(separator: ", "))"
    }
}

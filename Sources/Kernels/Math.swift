#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `x` raised to `y` in Double, as C's `pow` (and Python's `**` on floats) computes it.
@inline(__always)
public func power(_ x: Double, _ y: Double) -> Double { pow(x, y) }

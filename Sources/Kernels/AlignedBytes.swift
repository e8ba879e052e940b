#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed number of bytes in memory aligned like ``AlignedStorage`` (huge pages when large), for data sets:
/// random reads over tens of megabytes miss the TLB on 4 KiB pages and hit it on 2 MiB ones.
///
/// Reference semantics: the bytes are written once, by whoever creates them, and then only read.
public final class AlignedBytes: @unchecked Sendable {
    /// The first byte; valid for `count` bytes for the lifetime of the object.
    public let pointer: UnsafeMutablePointer<UInt8>
    public let count: Int

    /// Allocates `count` bytes, zeroed unless `zeroed` is false. Returns nil for a negative or impossibly large
    /// count, or when the system is out of memory.
    public init?(count: Int, zeroed: Bool = true) {
        guard count >= 0, count <= Int.max - AlignedStorage.hugePageSize,
              let raw = AlignedStorage.allocate(bytes: count, zeroed: zeroed) else { return nil }
        pointer = raw.bindMemory(to: UInt8.self, capacity: max(count, 1))
        self.count = count
    }

    deinit { free(pointer) }

    /// The bytes from `offset`, `length` of them.
    public func buffer(from offset: Int = 0, length: Int? = nil) -> UnsafeBufferPointer<UInt8> {
        let length = length ?? count - offset
        precondition(offset >= 0 && length >= 0 && offset + length <= count, "AlignedBytes range out of bounds")
        return UnsafeBufferPointer(start: pointer + offset, count: length)
    }
}

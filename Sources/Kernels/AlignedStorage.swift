#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Raw, uninitialized-then-zeroed memory for `count` Floats, aligned for SIMD and, when large, for huge pages.
///
/// Buffers of 1 MiB and more are aligned to 2 MiB, rounded up to a whole number of 2 MiB pages and advised as
/// transparent huge pages (`madvise(MADV_HUGEPAGE)`, as PyTorch does): streaming kernels such as an optimizer
/// step run ~1.5x faster over them on this project's machines. Smaller buffers are aligned to 64 bytes (one cache
/// line, one AVX-512 register). The memory is zeroed on creation and freed on deinit.
///
/// Zeroing can be skipped for storage that the caller writes completely.
///
/// This is the storage behind ``FloatBuffer``; most code uses that value type instead.
public final class AlignedStorage: @unchecked Sendable {
    /// The first element. Valid for `count` elements for the lifetime of the object.
    public let pointer: UnsafeMutablePointer<Float>
    /// The number of Floats.
    public let count: Int
    /// For a view into a larger block (a ``FloatArena`` slot), the storage that owns the memory and is kept alive by
    /// the view; nil when this storage owns its memory.
    public let owner: AlignedStorage?

    /// Buffers this large or larger are aligned and advised as huge pages.
    public static let hugePageThreshold = 1 << 20
    static let hugePageSize = 2 << 20
    static let cacheLine = 64

    /// Allocates storage for `count` Floats, zeroed unless `zeroed` is false. Returns nil for a negative or
    /// impossibly large count, or when the system is out of memory.
    public init?(count: Int, zeroed: Bool = true) {
        guard count >= 0, count <= Int.max / MemoryLayout<Float>.stride - AlignedStorage.hugePageSize,
              let raw = Self.allocate(bytes: max(count, 1) * MemoryLayout<Float>.stride, zeroed: zeroed) else {
            return nil
        }
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.owner = nil
    }

    /// A view of `count` Floats at `offset` in `owner`'s memory, which it keeps alive and never frees.
    /// `offset + count` must not exceed `owner.count`.
    init(viewing owner: AlignedStorage, offset: Int, count: Int) {
        precondition(offset >= 0 && count >= 0 && offset <= owner.count - count, "view out of its owner's range")
        self.pointer = owner.pointer + offset
        self.count = count
        self.owner = owner
    }

    deinit {
        guard owner == nil else { return }
        Self.release(UnsafeMutableRawPointer(pointer), bytes: max(count, 1) * MemoryLayout<Float>.stride)
    }

    /// Gives back to the system the freed blocks kept for reuse (see `BlockCache`): after freeing buffers that no
    /// step will allocate again, such as a model's parameters once they live in one block.
    public static func releaseCachedBlocks() { BlockCache.shared.empty() }

    /// `bytes` of memory, 2 MiB-aligned and advised as huge pages from ``hugePageThreshold`` on, 64-byte-aligned
    /// below; give it back with ``release(_:bytes:)``.
    static func allocate(bytes: Int, zeroed: Bool) -> UnsafeMutableRawPointer? {
        let (alignment, rounded) = layout(bytes)
        if let cached = BlockCache.shared.take(rounded) {
            if zeroed { memset(cached, 0, rounded) }
            return cached
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, alignment, rounded) == 0, let raw else { return nil }
        #if os(Linux)
        if alignment == hugePageSize { _ = madvise(raw, rounded, MADV_HUGEPAGE) }
        #endif
        if zeroed { memset(raw, 0, rounded) }
        return raw
    }

    /// Returns memory from ``allocate(bytes:zeroed:)`` of the same `bytes`.
    static func release(_ raw: UnsafeMutableRawPointer, bytes: Int) {
        let (_, rounded) = layout(bytes)
        if !BlockCache.shared.keep(raw, rounded) { free(raw) }
    }

    static func layout(_ bytes: Int) -> (alignment: Int, rounded: Int) {
        let alignment = bytes >= hugePageThreshold ? hugePageSize : cacheLine
        return (alignment, (max(bytes, 1) + alignment - 1) / alignment * alignment)
    }
}

/// Freed blocks of 64 KiB and more, kept for reuse by an allocation of the same size.
///
/// A training loop allocates the same buffers every step (a batch, activations, gradients). Given back to
/// malloc, blocks this large are unmapped or trimmed and come back as fresh pages, each a page fault and a
/// zeroing by the kernel: most of a small model's step. Kept here, the next step's buffer is warm memory. Like
/// malloc's own free lists this is process-wide; it holds at most ``capacity`` bytes and is safe to use from
/// any thread.
final class BlockCache: Sendable {
    static let shared = BlockCache()
    static let minimumSize = 64 << 10
    static let capacity = 256 << 20
    /// Larger blocks are not kept: a step's few buffers of that size (a large model's logits, an embedding's
    /// gradient) cost little to fault in again next to their step, and kept they would hold the cache's capacity
    /// resident for good.
    static let largestKept = 16 << 20

    /// A freed block: raw memory that no one else refers to once it is in the cache.
    private struct Block: @unchecked Sendable { let pointer: UnsafeMutableRawPointer }

    private struct State {
        var blocks: [Int: [Block]] = [:]
        var held = 0
    }
    private let state = Locked(State())

    func take(_ size: Int) -> UnsafeMutableRawPointer? {
        guard size >= Self.minimumSize else { return nil }
        return state.withLock { state in
            guard let block = state.blocks[size]?.popLast() else { return nil }
            state.held -= size
            return block.pointer
        }
    }

    /// Frees every block kept: for memory that will not come back in a step's sizes (a model's buffers before its
    /// parameters moved into one block), which would otherwise stay resident, unused, up to ``capacity``.
    func empty() {
        let blocks = state.withLock { state in
            defer { state = State() }
            return state.blocks.values.joined().map(\.pointer)
        }
        for block in blocks { free(block) }
    }

    /// Keeps `block` unless it is small or the cache is full; returns whether it was kept.
    func keep(_ block: UnsafeMutableRawPointer, _ size: Int) -> Bool {
        guard size >= Self.minimumSize, size <= Self.largestKept else { return false }
        return state.withLock { state in
            guard state.held + size <= Self.capacity else { return false }
            state.blocks[size, default: []].append(Block(pointer: block))
            state.held += size
            return true
        }
    }
}

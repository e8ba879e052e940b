import Kernels
import Testing

struct FloatBufferTests {
    /// Equality is Float's (NaN is equal to nothing); bitwise equality holds for a copy, NaNs included.
    @Test func aCopyIsBitwiseEqualEvenWithNaN() {
        let a: FloatBuffer = [1, .nan, -0.0]
        let copy = FloatBuffer(Array(a))
        #expect(a != copy && a.isBitwiseEqual(to: copy))
        #expect(!a.isBitwiseEqual(to: [1, .nan, 0]), "-0 and 0 differ in their bits")
        #expect(!a.isBitwiseEqual(to: [1, .nan]) && FloatBuffer().isBitwiseEqual(to: FloatBuffer()))
    }

    @Test func copiesShareStorageUntilWritten() {
        var a: FloatBuffer = [1, 2, 3]
        let b = a
        #expect(a.sharesStorage(with: b))
        a[0] = 9
        #expect(!a.sharesStorage(with: b))
        #expect(a.array == [9, 2, 3] && b.array == [1, 2, 3])
    }

    @Test func smallBuffersAreCacheLineAlignedAndLargeOnesHugePageAligned() {
        let small = FloatBuffer(count: 10), large = FloatBuffer(count: 1 << 20)
        small.withUnsafeBufferPointer { #expect(Int(bitPattern: $0.baseAddress) % 64 == 0) }
        large.withUnsafeBufferPointer { #expect(Int(bitPattern: $0.baseAddress) % (2 << 20) == 0) }
    }

    @Test func startsZeroedOrFilledAndComparesByElement() {
        #expect(FloatBuffer(count: 5).allSatisfy { $0 == 0 })
        #expect(FloatBuffer(count: 3, repeating: -0.0).allSatisfy { $0 == 0 && $0.sign == .minus })
        #expect(FloatBuffer([1, 2]) == [1, 2])
        #expect(FloatBuffer([1, 2]) != [1, 2, 3])
        #expect(FloatBuffer(count: 0).isEmpty)
    }
}

extension FloatBufferTests {
    @Test func impossibleAllocationsReturnNil() {
        #expect(AlignedStorage(count: -1) == nil)
        #expect(AlignedStorage(count: .max) == nil)
        #expect(AlignedBytes(count: -5) == nil)
        #expect(AlignedBytes(count: 3)?.count == 3)
    }
}

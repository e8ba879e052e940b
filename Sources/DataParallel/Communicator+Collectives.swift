/// The collectives of the sharded step, each a single ``Communicator/exchange(sending:receiving:operation:)``
/// of bytes; none adds anything, so none can change a bit.
extension Communicator {
    /// Every process's `local` values, concatenated in rank order; `counts[r]` is how many rank r gives.
    public func allGather<T: BitwiseCopyable & AdditiveArithmetic>(
        _ local: [T], counts: [Int], operation: String
    ) throws -> [T] {
        precondition(counts.count == size && counts[rank] == local.count, "allGather: counts do not fit")
        let starts = counts.reduce(into: [0]) { $0.append($0.last! + $1) }
        var gathered = [T](repeating: .zero, count: starts.last!)
        try local.withUnsafeBytes { (mine: UnsafeRawBufferPointer) in
            try gathered.withUnsafeMutableBytes { (all: UnsafeMutableRawBufferPointer) in
                let stride = MemoryLayout<T>.stride
                if !mine.isEmpty {
                    UnsafeMutableRawBufferPointer(rebasing: all[(starts[rank] * stride)...]).copyMemory(from: mine)
                }
                let peers = (0..<size).filter { $0 != rank }
                try exchange(
                    sending: local.isEmpty ? [] : peers.map { Outgoing(peer: $0, bytes: mine) },
                    receiving: peers.filter { counts[$0] > 0 }.map { peer in
                        Incoming(peer: peer, bytes: UnsafeMutableRawBufferPointer(
                            rebasing: all[(starts[peer] * stride)..<(starts[peer + 1] * stride)]))
                    },
                    operation: operation)
            }
        }
        return gathered
    }

    /// One value from every process, in rank order.
    public func allGather<T: BitwiseCopyable & AdditiveArithmetic>(_ value: T, operation: String) throws -> [T] {
        try allGather([value], counts: Array(repeating: 1, count: size), operation: operation)
    }

    /// Every process's `bytes` at rank 0 (nil elsewhere), in rank order; the lengths may differ.
    public func gatherToFirst(_ bytes: [UInt8], operation: String) throws -> [[UInt8]]? {
        let lengths = try allGather(Int64(bytes.count), operation: operation + " (sizes)").map { Int($0) }
        if rank != 0 {
            try bytes.withUnsafeBytes { (mine: UnsafeRawBufferPointer) in
                try exchange(sending: mine.isEmpty ? [] : [Outgoing(peer: 0, bytes: mine)], receiving: [],
                             operation: operation)
            }
            return nil
        }
        // Each peer's bytes land in memory of their own, whose pointers stay valid for the exchange's duration.
        let buffers = (1..<size).map { UnsafeMutableRawBufferPointer.allocate(byteCount: max(lengths[$0], 1), alignment: 16) }
        defer { buffers.forEach { $0.deallocate() } }
        try exchange(
            sending: [],
            receiving: (1..<size).filter { lengths[$0] > 0 }.map { peer in
                Incoming(peer: peer, bytes: UnsafeMutableRawBufferPointer(rebasing: buffers[peer - 1][..<lengths[peer]]))
            },
            operation: operation)
        return [bytes] + (1..<size).map { peer in
            Array(UnsafeRawBufferPointer(rebasing: buffers[peer - 1][..<lengths[peer]]))
        }
    }
}

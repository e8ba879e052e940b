/// A kernel whose every element is updated on its own (an optimizer step), so that any split of a range over
/// threads gives the same bits.
public protocol SweepKernel: Sendable {
    /// The memory the kernel reads and writes: pointers to the first element of each stream.
    associatedtype Streams: Sendable
    /// Updates elements `range` of `streams` on the calling thread, on the instruction set `path` (read once by
    /// the caller, as ``CPUPath/current``, before it spreads the work over threads).
    func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath)
}

extension SweepKernel {
    /// Applies the kernel to `count` elements, in parallel over ``ThreadPool/current`` for large counts (chunks of
    /// at least ``ThreadPool/grain``), on the path read here. The result does not depend on the thread count.
    public func apply(_ streams: Streams, count: Int) {
        let path = CPUPath.current
        ThreadPool.current.forEachChunk(count: count, minimumChunk: ThreadPool.grain) { range in
            run(streams, range, path: path)
        }
    }
}

extension AdamStep: SweepKernel {}
extension SGDStep: SweepKernel {}
extension RMSpropStep: SweepKernel {}
extension AdagradStep: SweepKernel {}
extension ScheduleFreeStep: SweepKernel {}

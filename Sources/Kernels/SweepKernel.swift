/// A kernel whose every element is updated on its own (an optimizer step), so that any split of a range over
/// threads gives the same bits.
public protocol SweepKernel: Sendable {
    /// The memory the kernel reads and writes: pointers to the first element of each stream.
    associatedtype Streams: Sendable
    /// Updates elements `range` of `streams` on the calling thread, on the instruction set `path` (read once by
    /// the caller, as ``CPUPath/current``, before it spreads the work over threads).
    func run(_ streams: Streams, _ range: Range<Int>, path: CPUPath)
}

extension AdamStep: SweepKernel {}
extension SGDStep: SweepKernel {}
extension RMSpropStep: SweepKernel {}
extension AdagradStep: SweepKernel {}
extension ScheduleFreeStep: SweepKernel {}

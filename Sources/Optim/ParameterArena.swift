import Kernels
/// Parameters and their gradients in one contiguous, 2 MiB-aligned block of memory, as llm.c keeps a model.
///
/// Each parameter stays a ``Parameter``: its ``Parameter/values`` and the memory its gradients are written to
/// become views into the block (values first, then gradients, each tensor on a 64-byte boundary). An optimizer
/// step streams through the block as through one large tensor, and the optimizer's state is allocated the same
/// way (see ``RuleOptimizer``). Modules from `NN` gather their parameters here when asked for them; a parameter
/// made on its own works as before, and the results are bitwise the same either way.
public enum ParameterArena {
    /// Moves `parameters` into one new block, unless they share one already. Values (and any current gradient)
    /// are copied; a later `parameter.values = …` takes that parameter out of the block again.
    /// - Throws: ``OptimError/outOfMemory(elements:)`` when the block cannot be allocated; nothing moves then.
    public static func gather(_ parameters: [Parameter]) throws(OptimError) {
        guard !parameters.isEmpty, !shareOneBlock(parameters) else { return }
        let counts = parameters.map(\.count)
        let buffers: [FloatBuffer]
        do {
            // Values first, then gradient memory; the values (and any current gradient) are copied in here.
            buffers = try FloatArena.buffers(counts: counts + counts) { index, memory in
                let parameter = parameters[index % parameters.count]
                let source = index < parameters.count ? parameter.values : parameter.grad
                source?.withUnsafeBufferPointer { values in
                    if let base = values.baseAddress { memory.baseAddress?.update(from: base, count: values.count) }
                }
            }
        } catch {
            throw .outOfMemory(elements: counts.reduce(0) { $0 &+ $1 } &* 2)
        }
        for (index, parameter) in parameters.enumerated() {
            parameter.move(values: buffers[index], gradient: buffers[parameters.count + index])
        }
        // The parameters' own buffers are gone for good: not kept for a step's allocations, which never take them.
        AlignedStorage.releaseCachedBlocks()
    }

    /// Whether every one of `parameters` has its values in the same block.
    public static func shareOneBlock(_ parameters: [Parameter]) -> Bool {
        guard let first = parameters.first?.values.arena else { return false }
        return parameters.allSatisfy { $0.values.arena === first }
    }
}

import Kernels

extension UpdateRule {
    /// The one parallel sweep every rule runs (see ``UpdateRule/sweep(_:counters:layout:states:fresh:split:chunks:pool:)``).
    public static func sweep(
        _ groups: [ParamGroup<Options>], counters: [Counters], layout: SweepLayout, states: [ParameterState?],
        fresh: Set<Int>, split: [Int: UnsafeMutablePointer<Float>], chunks: Int, pool: ThreadPool
    ) {
        // Per group: which buffers its options use (the others are nil for the kernel).
        let used: [StatePointers] = groups.map { group in
            var used = StatePointers()
            for slot in stateBuffers.indices where uses(buffer: slot, options: group.options) {
                used[slot] = UnsafeMutablePointer(bitPattern: 1)
            }
            return used
        }
        // Plain values and buffers only inside the loop: reading a group (which holds arrays) or an array of the
        // layout there would retain and release it per parameter.
        let options = groups.map(\.options), initialLRs = groups.map(\.initialLR)
        layout.starts.withUnsafeBufferPointer { starts in
        layout.groupOf.withUnsafeBufferPointer { groupOf in
        // Parameters and states are read as unretained references (a class reference and an `Unmanaged` share a
        // layout) and used at +0: the arrays hold every object for the whole call, and a retain and release per
        // object per step (atomic, on cold cache lines) costs more than a small tensor's update.
        layout.parameters.withUnsafeBytes { parameterBytes in
        states.withUnsafeBytes { stateBytes in
            let parameters = parameterBytes.bindMemory(to: Unmanaged<Parameter>.self)
            let states = stateBytes.bindMemory(to: Optional<Unmanaged<ParameterState>>.self)
            let path = CPUPath.current
            pool.run(tasks: chunks) { chunk in
                let range = layout.chunk(chunk, of: chunks)
                guard !range.isEmpty || chunk == chunks - 1 else { return }
                // Parameters of a group that share a step count share the kernel's scalars: computed once.
                var cached: (group: Int, step: Int, fresh: Bool, kernel: Kernel)?
                var position = layout.firstParameter(from: range.lowerBound)
                while position < parameters.count, starts[position] < range.upperBound
                    || (chunk == chunks - 1 && position < parameters.count) {
                    defer { position += 1 }
                    guard let stateReference = states[position] else { continue }
                    let start = starts[position], group = groupOf[position]
                    // The chunk a parameter starts in counts its step; one split between chunks was counted by
                    // the caller, so that no two threads write one count.
                    let splitValues = split.isEmpty ? nil : split[position]
                    let isFresh = !fresh.isEmpty && fresh.contains(position)
                    parameters[position]._withUnsafeGuaranteedRef { parameter in
                        stateReference._withUnsafeGuaranteedRef { state in
                            guard let grad = parameter.gradientPointer else { return }
                            if countsSteps && splitValues == nil { state.step += 1 }
                            let kernel: Kernel
                            if let cached, cached.group == group, cached.step == state.step, cached.fresh == isFresh {
                                kernel = cached.kernel
                            } else {
                                kernel = self.kernel(options[group], counters: counters[group],
                                                     initialLR: initialLRs[group], step: state.step,
                                                     freshState: isFresh)
                                cached = (group, state.step, isFresh, kernel)
                            }
                            let lower = max(range.lowerBound - start, 0)
                            let upper = min(range.upperBound - start, parameter.count)
                            guard lower < upper else { return }
                            var pointers = state.pointers
                            for slot in 0..<StatePointers.capacity where used[group][slot] == nil { pointers[slot] = nil }
                            kernel.run(streams(param: splitValues ?? parameter.valuesPointer(), grad: grad,
                                               state: pointers), lower..<upper, path: path)
                        }
                    }
                }
            }
        }
        }
        }
        }
    }
}

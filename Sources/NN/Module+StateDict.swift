extension Module {
    /// The parameters' values by dotted name (`layers.1.weight`), as PyTorch's `model.state_dict()`.
    public func stateDict() -> StateDict {
        var state = StateDict()
        for (name, parameter) in namedParameters() {
            state.tensors[name] = .init(shape: parameter.shape, values: parameter.values)
        }
        return state
    }

    /// Sets the parameters' values from ``stateDict()``, by name.
    /// - Throws: ``Optim/StateMismatch`` listing every missing or unexpected name, every shape that differs and
    ///   every tensor holding a NaN or an infinity (weights read from a file are checked as flags are); no
    ///   parameter is changed then.
    public func load(stateDict state: StateDict) throws(StateMismatch) {
        var problems: [String] = []
        let named = namedParameters()
        for (name, parameter) in named {
            guard let tensor = state.tensors[name] else { problems.append("'\(name)' is missing"); continue }
            if tensor.elementType != .float32 {
                problems.append("'\(name)' is stored as \(tensor.elementType.rawValue); a model's weights are F32")
            } else if tensor.shape != parameter.shape || tensor.values.count != parameter.count {
                problems.append("'\(name)' has shape \(tensor.shape) in the state, \(parameter.shape) in the model")
            } else if let index = Self.firstNonFinite(tensor.values) {
                problems.append("'\(name)' holds \(tensor.values[index]) at index \(index); a model's weights must be finite")
            }
        }
        let names = Set(named.map(\.name))
        for name in state.tensors.keys.sorted() where !names.contains(name) {
            problems.append("'\(name)' is not a parameter of the model")
        }
        guard problems.isEmpty else { throw StateMismatch("model state", problems: problems) }
        // Copied into each parameter's own memory, so that parameters in an arena stay there.
        for (name, parameter) in named {
            guard let source = state.tensors[name]?.values else { continue }
            parameter.values.withUnsafeMutableBufferPointer { target in
                source.withUnsafeBufferPointer { values in
                    if let base = values.baseAddress { target.baseAddress?.update(from: base, count: values.count) }
                }
            }
        }
    }

    /// The index of the first NaN or infinity in `values`, or nil when all are finite (one vector pass when they
    /// are, the usual case).
    static func firstNonFinite(_ values: FloatBuffer) -> Int? {
        let finite = values.withUnsafePointer { Reductions.allFinite($0, count: values.count) }
        return finite ? nil : values.firstIndex { !$0.isFinite }
    }
}

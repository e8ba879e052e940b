/// One recorded operation: its operands and the rule that turns the gradient of its result into theirs.
final class Node {
    let inputs: [Tensor]
    /// Given ∂loss/∂output, returns ∂loss/∂input for each input that requires a gradient (nil for the others).
    let backward: (FloatBuffer) throws(TensorError) -> [FloatBuffer?]

    init(inputs: [Tensor], backward: @escaping (FloatBuffer) throws(TensorError) -> [FloatBuffer?]) {
        self.inputs = inputs
        self.backward = backward
    }
}

extension Tensor {
    /// The result of an operation on `inputs`: it records `backward` when gradients are enabled and an input
    /// requires one; otherwise it is a plain leaf and `backward` is dropped.
    static func result(
        _ values: FloatBuffer, shape: [Int], inputs: [Tensor],
        backward: @escaping (FloatBuffer) throws(TensorError) -> [FloatBuffer?]
    ) -> Tensor {
        let tracked = GradMode.isEnabled && inputs.contains { $0.requiresGrad }
        let output = Tensor(unchecked: values, shape: shape, requiresGrad: tracked)
        if tracked { output.node = Node(inputs: inputs, backward: backward) }
        return output
    }

    /// Computes the gradient of this scalar with respect to every tensor it was computed from, accumulating it into
    /// the `grad` of each leaf that requires one (and so into each parameter's `grad`). The graph is freed
    /// afterwards, as in PyTorch.
    /// - Throws: ``TensorError/backwardNeedsScalar(shape:)`` for a tensor of more than one element,
    ///   ``TensorError/noGraph`` when there is nothing to differentiate,
    ///   ``TensorError/gradientRejected(_:)`` when a parameter refuses its gradient, or an operation's error.
    public func backward() throws(TensorError) {
        guard count == 1 else { throw .backwardNeedsScalar(shape: shape) }
        try backward(gradient: FloatBuffer([1]))
    }

    /// Backward from this tensor with ∂loss/∂self = `gradient` (same element count).
    public func backward(gradient: FloatBuffer) throws(TensorError) {
        guard gradient.count == count else {
            throw .shapeMismatch(operation: "backward", shapes: [shape, [gradient.count]])
        }
        guard requiresGrad, !graphFreed else { throw .noGraph }
        let order = topologicalOrder()
        // A tensor whose graph an earlier backward freed would pass for a leaf and keep the gradient to itself,
        // silently cutting off everything it was computed from; PyTorch refuses this too.
        guard !order.contains(where: \.graphFreed) else { throw .noGraph }
        // Leaves whose gradient is added as it comes, not after the whole graph, so that the weights' gradients
        // are not all held at once (a model's size again at the peak): those whose sums come out the same in that
        // order — a parameter with no gradient yet that the graph reads through one tensor (its contributions then
        // add in the order they were made either way) or through two tensors used once each (a tied embedding: two
        // terms, whose sum does not depend on their order).
        let eager = Self.leavesTakingGradientsAsTheyCome(order, root: self)
        for leaf in order where eager.contains(ObjectIdentifier(leaf)) { leaf.takesGradientAsItComes = true }
        defer { for leaf in order { leaf.takesGradientAsItComes = false } }
        var pending: [ObjectIdentifier: FloatBuffer] = [ObjectIdentifier(self): gradient]
        for tensor in order.reversed() {
            guard let upstream = pending.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
            guard let node = tensor.node else {
                try tensor.accumulateLeafGradient(upstream)
                continue
            }
            let gradients = try node.backward(upstream)
            for (input, gradient) in zip(node.inputs, gradients) {
                guard let gradient, input.requiresGrad else { continue }
                if input.takesGradientAsItComes {
                    try input.accumulateLeafGradient(gradient)
                    continue
                }
                let key = ObjectIdentifier(input)
                if var existing = pending.removeValue(forKey: key) {
                    existing.add(gradient)
                    pending[key] = existing
                } else {
                    pending[key] = gradient
                }
            }
        }
        for tensor in order where tensor.node != nil {
            tensor.node = nil
            tensor.graphFreed = true
        }
    }

    /// The leaves of `order` whose gradients may be added as they come (see `backward(gradient:)`).
    private static func leavesTakingGradientsAsTheyCome(_ order: [Tensor], root: Tensor) -> Set<ObjectIdentifier> {
        var uses: [ObjectIdentifier: Int] = [:]
        for tensor in order {
            for input in tensor.node?.inputs ?? [] where input.requiresGrad && input.node == nil {
                uses[ObjectIdentifier(input), default: 0] += 1
            }
        }
        // The leaves by what they accumulate into: a parameter, or themselves.
        var groups: [ObjectIdentifier: [Tensor]] = [:]
        for tensor in order where tensor.node == nil && tensor !== root && uses[ObjectIdentifier(tensor)] != nil {
            groups[tensor.parameter.map(ObjectIdentifier.init) ?? ObjectIdentifier(tensor), default: []].append(tensor)
        }
        var eager = Set<ObjectIdentifier>()
        for leaves in groups.values {
            let first = leaves[0]
            let hasGradient = first.parameter?.hasGradient ?? (first.grad != nil)
            let onceEach = leaves.allSatisfy { uses[ObjectIdentifier($0)] == 1 }
            guard !hasGradient, leaves.count == 1 || (leaves.count == 2 && onceEach) else { continue }
            for leaf in leaves { eager.insert(ObjectIdentifier(leaf)) }
        }
        return eager
    }

    private func accumulateLeafGradient(_ gradient: FloatBuffer) throws(TensorError) {
        if let parameter {
            // `withUnsafeBufferPointer` rethrows untyped, so the parameter's error comes out as a value.
            let outcome = gradient.withUnsafeBufferPointer { buffer in
                Result { () throws(OptimError) in try parameter.accumulateGrad(buffer) }
            }
            if case .failure(let error) = outcome { throw .gradientRejected(error) }
        } else if var existing = grad {
            grad = nil  // so that the buffer is uniquely referenced and is added to in place
            existing.add(gradient)
            grad = existing
        } else {
            grad = gradient
        }
    }

    /// Every tensor this one depends on through recorded operations, each after its inputs (depth-first, no
    /// recursion, so deep graphs cannot overflow the stack).
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded { order.append(tensor); continue }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            for input in tensor.node?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }
}

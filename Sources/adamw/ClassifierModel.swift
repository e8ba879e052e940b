import NN

/// The models `adamw train` builds for MNIST: one linear layer (the seeds' example) or an MLP with ReLU.
enum ClassifierModel {
    /// Flatten → Linear(784, 10), or Flatten → [Linear → ReLU]… → Linear(last, 10) for the given hidden sizes.
    static func make(hidden: [Int], inputs: Int, classes: Int) -> Sequential {
        let widths = [inputs] + hidden
        return Sequential {
            Flatten()
            for (from, to) in zip(widths, widths.dropFirst()) {
                [Linear(from, to), ReLU()] as [any Module]
            }
            Linear(widths.last ?? inputs, classes)
        }
    }
}

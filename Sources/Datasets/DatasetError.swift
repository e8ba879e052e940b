/// Why a data file was refused. Every case names the file and the problem.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(directory: String, tried: [String])
    case unreadable(path: String, reason: String)
    case gzip(path: String, reason: String)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    case badMagic(path: String, found: UInt32, expected: UInt32)
    case unsupportedFormat(path: String, reason: String)
    /// A text file of another format than the one read (a tokenizer's `vocab.json` or `merges.txt`).
    case malformed(path: String, reason: String)
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    case invalidLabel(path: String, index: Int, value: Int)
    case invalidArgument(name: String, value: Int)
    /// A character (of a prompt, say) that a corpus's vocabulary does not have.
    case unknownCharacter(String)

    public var description: String {
        switch self {
        case .fileNotFound(let directory, let tried):
            return "no data file in \(directory): tried \(tried.joined(separator: ", ")); point --data-dir (or "
                + "ADAMW_DATA_DIR) at a folder holding MNIST's IDX files, such as the repository's Data/mnist"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read: \(reason)"
        case .gzip(let path, let reason):
            return "\(path): broken gzip stream: \(reason)"
        case .truncated(let path, let expected, let actual):
            return "\(path): truncated: the header promises \(expected) bytes of data, the file has \(actual)"
        case .badMagic(let path, let found, let expected):
            return "\(path): wrong magic number 0x\(hex(found)), expected 0x\(hex(expected))"
        case .unsupportedFormat(let path, let reason):
            return "\(path): unsupported IDX file: \(reason)"
        case .malformed(let path, let reason):
            return "\(path): \(reason)"
        case .countMismatch(let images, let imageCount, let labels, let labelCount):
            return "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels"
        case .invalidLabel(let path, let index, let value):
            return "\(path): label \(value) at index \(index) is not a digit 0-9"
        case .invalidArgument(let name, let value):
            return "invalid \(name): \(value)"
        case .unknownCharacter(let character):
            return "the character \(character.debugDescription) is not in the vocabulary"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

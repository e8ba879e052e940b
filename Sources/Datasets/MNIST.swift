import Autograd
import Foundation

/// The MNIST handwritten digits: 60,000 training and 10,000 test images of 28×28 pixels with their labels.
///
/// Images are kept as bytes; a batch converts them to `pixel / 255` in Float (torchvision's `ToTensor`), shaped
/// [n, 1, 28, 28]. The files are read from ``defaultDirectory`` (the copy in this repository's `Data/mnist`) or
/// from the directory given, gzip-compressed or raw, named `train-images-idx3-ubyte` or
/// `train-images.idx3-ubyte` (with or without `.gz`) and so on.
public struct MNIST: Sendable {
    public enum Split: String, Sendable, CaseIterable {
        case train, test
        var prefix: String { self == .train ? "train" : "t10k" }
    }

    public static let rows = 28, columns = 28
    public static let pixels = rows * columns
    public static let classes = 10

    public let split: Split
    /// Pixels, one byte each, image after image (in huge-page-aligned memory: batches gather images at random).
    public var images: UnsafeBufferPointer<UInt8> { imageFile.data }
    private let imageFile: IDXFile
    /// Labels 0…9, one per image.
    public let labels: [Int]
    /// The number of images.
    public var count: Int { labels.count }

    /// The repository's copy: `ADAMW_DATA_DIR` if set, else `Data/mnist` at the root of this package's source tree
    /// when it exists, else `Data/mnist` under the current directory.
    public static var defaultDirectory: String {
        BundledData.path("Data/mnist") { $0 }
    }

    /// Loads one split from `directory` (default: ``defaultDirectory``).
    /// - Throws: ``DatasetError`` naming the file and the problem: missing, unreadable, broken gzip, wrong magic
    ///   number, truncated, wrong image size, image and label counts that disagree, or a label outside 0…9.
    public init(split: Split, directory: String? = nil) throws(DatasetError) {
        let directory = directory ?? Self.defaultDirectory
        let imageFile = try IDXFile(path: Self.locate("\(split.prefix)-images", "idx3-ubyte", in: directory))
        let labelFile = try IDXFile(path: Self.locate("\(split.prefix)-labels", "idx1-ubyte", in: directory))
        guard imageFile.magic == 0x0000_0803 else {
            throw .badMagic(path: imageFile.path, found: imageFile.magic, expected: 0x0000_0803)
        }
        guard labelFile.magic == 0x0000_0801 else {
            throw .badMagic(path: labelFile.path, found: labelFile.magic, expected: 0x0000_0801)
        }
        guard imageFile.dimensions.dropFirst() == [Self.rows, Self.columns] else {
            throw .unsupportedFormat(path: imageFile.path,
                                     reason: "images are \(imageFile.dimensions.dropFirst()), not 28×28")
        }
        guard imageFile.dimensions[0] == labelFile.dimensions[0] else {
            throw .countMismatch(images: imageFile.path, imageCount: imageFile.dimensions[0],
                                 labels: labelFile.path, labelCount: labelFile.dimensions[0])
        }
        if let bad = labelFile.data.firstIndex(where: { $0 >= Self.classes }) {
            throw .invalidLabel(path: labelFile.path, index: bad, value: Int(labelFile.data[bad]))
        }
        self.split = split
        self.imageFile = imageFile
        self.labels = labelFile.data.map(Int.init)
    }

    /// Both splits, read at the same time on two threads.
    public static func load(directory: String? = nil) throws(DatasetError) -> (train: MNIST, test: MNIST) {
        let results = LoadResults()
        ThreadPool.current.run(tasks: 2) { task in
            let split: Split = task == 0 ? .train : .test
            let result = Result { () throws(DatasetError) -> MNIST in try MNIST(split: split, directory: directory) }
            results.set(task, result)
        }
        return (try results.get(0), try results.get(1))
    }

    /// The files ``load(directory:)`` reads from `directory` (default: ``defaultDirectory``), as far as they exist:
    /// what a command must not overwrite.
    public static func files(in directory: String? = nil) -> [String] {
        let directory = directory ?? defaultDirectory
        return Split.allCases.flatMap { split in
            [("\(split.prefix)-images", "idx3-ubyte"), ("\(split.prefix)-labels", "idx1-ubyte")].compactMap { stem, kind in
                try? locate(stem, kind, in: directory)
            }
        }
    }

    /// The file `<stem>-<kind>` or `<stem>.<kind>` in `directory`, gzip-compressed or raw.
    static func locate(_ stem: String, _ kind: String, in directory: String) throws(DatasetError) -> String {
        let candidates = ["\(stem)-\(kind).gz", "\(stem).\(kind).gz", "\(stem)-\(kind)", "\(stem).\(kind)"]
        for name in candidates {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw .fileNotFound(directory: directory, tried: candidates)
    }
}

/// The two loads' results, written from two threads.
private final class LoadResults: @unchecked Sendable {
    private var results: [Result<MNIST, DatasetError>?] = [nil, nil]
    private let lock = NSLock()

    func set(_ index: Int, _ result: Result<MNIST, DatasetError>) {
        lock.lock(); defer { lock.unlock() }
        results[index] = result
    }

    func get(_ index: Int) throws(DatasetError) -> MNIST {
        lock.lock(); defer { lock.unlock() }
        guard let result = results[index] else { throw .unreadable(path: "MNIST", reason: "load did not run") }
        return try result.get()
    }
}

extension MNIST: LabeledDataset {
    public var sampleShape: [Int] { [1, Self.rows, Self.columns] }

    public func fill(_ indices: ArraySlice<Int>, into batch: UnsafeMutablePointer<Float>) {
        guard let pixels = images.baseAddress else { return }
        var target = batch
        var position = indices.startIndex
        // Four images at a time, their rows interleaved: a shuffled batch reads images scattered over 47 MB, and
        // four independent streams keep four times as many cache misses in flight as one.
        while position + 4 <= indices.endIndex {
            let sources = (pixels + indices[position] * Self.pixels,
                           pixels + indices[position + 1] * Self.pixels,
                           pixels + indices[position + 2] * Self.pixels,
                           pixels + indices[position + 3] * Self.pixels)
            for j in 0..<Self.pixels {
                target[j] = Float(sources.0[j]) / 255
                target[Self.pixels + j] = Float(sources.1[j]) / 255
                target[2 * Self.pixels + j] = Float(sources.2[j]) / 255
                target[3 * Self.pixels + j] = Float(sources.3[j]) / 255
            }
            target += 4 * Self.pixels
            position += 4
        }
        for index in indices[position...] {
            let source = pixels + index * Self.pixels
            for j in 0..<Self.pixels { target[j] = Float(source[j]) / 255 }
            target += Self.pixels
        }
    }

    public func label(at index: Int) -> Int { labels[index] }

}

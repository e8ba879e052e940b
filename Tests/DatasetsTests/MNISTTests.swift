import Datasets
import Foundation
import Testing

struct MNISTTests {
    @Test func theBundledCopyHasSixtyAndTenThousandDigits() throws {
        let (train, test) = try MNIST.load()
        #expect(train.count == 60_000 && test.count == 10_000)
        #expect(train.images.count == 60_000 * 784 && test.images.count == 10_000 * 784)
        #expect(train.labels.prefix(5) == [5, 0, 4, 1, 9], "the well-known first labels of MNIST")
        let (batch, labels) = train.batch([0, 59_999])
        #expect(batch.shape == [2, 1, 28, 28] && labels == [5, train.labels[59_999]])
        #expect(batch.array.allSatisfy { (0...1).contains($0) })
        // Pixel 152 of image 0 (row 5, column 12) is 3 in the published data: the value is pixel / 255.
        #expect(batch.array[152] == Float(3) / 255 && batch.array.prefix(784).contains(1))
    }

    @Test func acceptsBothSpellingsRawAndCompressed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mnist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let images = IDXFileTests.idx([2, 28, 28], magicType: 0x08, data: [UInt8](repeating: 255, count: 2 * 784))
        let labels = IDXFileTests.idx([2], data: [3, 7])
        try Data(images).write(to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        try IDXFileTests.gzip(labels, at: directory.appendingPathComponent("t10k-labels.idx1-ubyte.gz"))
        let test = try MNIST(split: .test, directory: directory.path)
        #expect(test.count == 2 && test.labels == [3, 7])
        #expect(test.batch([1]).data.array.allSatisfy { $0 == 1 })
    }

    @Test func refusesFilesThatDisagree() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mnist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func write(images: [UInt8], labels: [UInt8]) throws {
            try Data(images).write(to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
            try Data(labels).write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
        }
        let imagePath = directory.appendingPathComponent("t10k-images-idx3-ubyte").path
        let labelPath = directory.appendingPathComponent("t10k-labels-idx1-ubyte").path
        try write(images: IDXFileTests.idx([2, 28, 28], data: [UInt8](repeating: 0, count: 2 * 784)),
                  labels: IDXFileTests.idx([3], data: [1, 2, 3]))
        #expect(throws: DatasetError.countMismatch(images: imagePath, imageCount: 2, labels: labelPath, labelCount: 3)) {
            try MNIST(split: .test, directory: directory.path)
        }
        try write(images: IDXFileTests.idx([1, 28, 28], data: [UInt8](repeating: 0, count: 784)),
                  labels: IDXFileTests.idx([1], data: [12]))
        #expect(throws: DatasetError.invalidLabel(path: labelPath, index: 0, value: 12)) {
            try MNIST(split: .test, directory: directory.path)
        }
        try write(images: IDXFileTests.idx([1, 28, 28], data: [UInt8](repeating: 0, count: 784)),
                  labels: IDXFileTests.idx([1, 1], data: [1]))
        #expect(throws: DatasetError.badMagic(path: labelPath, found: 0x0802, expected: 0x0801)) {
            try MNIST(split: .test, directory: directory.path)
        }
        try write(images: IDXFileTests.idx([1, 14, 56], data: [UInt8](repeating: 0, count: 784)),
                  labels: IDXFileTests.idx([1], data: [1]))
        #expect(throws: DatasetError.self) { try MNIST(split: .test, directory: directory.path) }
        #expect(throws: DatasetError.self) { try MNIST(split: .train, directory: directory.path) }
    }
}

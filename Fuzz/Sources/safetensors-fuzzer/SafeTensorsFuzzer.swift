// Fuzzes the safetensors reader and the checkpoint reader (layout, JSON header, offsets, checksum) with arbitrary
// bytes, and what decodes as an optimizer state (options parsed from text, step counts, buffers) for every
// optimizer. Any crash, hang or sanitizer report is a bug; thrown errors are the expected outcome.
import Checkpoints
import Optim

/// Parameters named as the seed corpus's optimizer states name theirs.
nonisolated(unsafe) let fuzzParameters: [Parameter] = [
    (try? Parameter(name: "w", shape: [2, 3])), (try? Parameter(name: "b", shape: [2])),
].compactMap { $0 }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let (tensors, metadata) = try? SafeTensors.decode(bytes) {
        // What decodes must encode again, and decode to the same values.
        let again = try? SafeTensors.encode(tensors, metadata: metadata)
        let reread = again?.withUnsafeBytes { try? SafeTensors.decode($0) }
        precondition(reread?.tensors.keys.sorted() == tensors.keys.sorted() && reread?.metadata == metadata)
    }
    _ = try? CheckpointFile.decode(bytes)
    if let (tensors, metadata) = try? SafeTensors.decode(bytes) {
        let state = StateDict(tensors: tensors, metadata: metadata)
        for kind in OptimizerKind.allCases {
            guard let optimizer = try? kind.makeOptimizer(fuzzParameters) else { continue }
            if (try? optimizer.load(stateDict: state)) != nil {
                // A state that loads must step without trapping.
                for parameter in fuzzParameters { parameter.grad = FloatBuffer(count: parameter.count, repeating: 0.5) }
                try? optimizer.step()
            }
        }
    }
    return 0
}

// SwiftPM links an executable's entry point as <target>_main (for testable executables) and aliases main to it;
// libFuzzer brings its own main, so this one hands the arguments to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("safetensors_fuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzSafeTensors)
}

// Fuzzes the safetensors reader and the checkpoint reader (layout, JSON header, offsets, checksum) with arbitrary
// bytes. Any crash, hang or sanitizer report is a bug; thrown errors are the expected outcome.
import Checkpoints

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

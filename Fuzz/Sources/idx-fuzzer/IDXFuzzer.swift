// Fuzzes the IDX reader with arbitrary bytes: raw IDX and, when the input starts with gzip's magic bytes, the
// zlib path. Any crash, hang or sanitizer report is a bug; thrown errors are the expected outcome.
import Datasets
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let contents = Data(bytes: data, count: size)
    if let file = try? IDXFile(path: "fuzz", contents: contents) {
        // A file that parses must describe exactly its data.
        precondition(file.data.count == file.dimensions.reduce(1, *))
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

@_cdecl("idx_fuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzIDX)
}

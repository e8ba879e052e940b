// swift-tools-version: 6.0
import Foundation
import PackageDescription

// Code generation for the hot loops. Two flags make Swift's SIMD code as fast as C's:
// - `-Xcc -fno-math-errno`: without it `squareRoot()` on a SIMD vector becomes one `sqrtf` call per lane
//   with an errno check (~15x slower); with it, one `vsqrtps`. NaN still propagates.
// - `-target-cpu native`: the default x86-64 target lowers SIMD16<Float> to four SSE registers and
//   `addingProduct` to a libm `fmaf` call; native gives AVX2/AVX-512 and hardware FMA.
// SwiftPM refuses unsafe flags in a package that another package depends on, so they apply only when this
// package is built as the root package (its checkouts live under `.../checkouts/` when it is a dependency).
// `ADAMW_PORTABLE=1` turns them off here too: the results are the same bits, only slower.
let isDependency = Context.packageDirectory.contains("/checkouts/")
let portable = isDependency || Context.environment["ADAMW_PORTABLE"] == "1"
let fast: [SwiftSetting] = portable ? [] : [
    .unsafeFlags(["-Xcc", "-fno-math-errno", "-target-cpu", "native"]),
]

// Data-parallel training over MPI (`mpirun -np N adamw gpt …`) needs Open MPI's headers and library
// (Debian: `libopenmpi-dev`). Without them everything else builds and works the same, and `adamw` under mpirun
// refuses to start rather than run N copies of one job. `ADAMW_MPI=0` or `=1` decides instead of looking for
// Open MPI's pkg-config file. SwiftPM remembers a manifest's result: after installing Open MPI, build in a new
// build directory (or delete `.build`) for it to be found.
let mpiSetting = Context.environment["ADAMW_MPI"]
let pkgConfigDirectories = (Context.environment["PKG_CONFIG_PATH"] ?? "").split(separator: ":").map(String.init) + [
    "/usr/lib/x86_64-linux-gnu/pkgconfig", "/usr/lib/aarch64-linux-gnu/pkgconfig", "/usr/lib64/pkgconfig",
    "/usr/lib/pkgconfig", "/usr/local/lib/pkgconfig", "/opt/homebrew/lib/pkgconfig",
]
let openMPIFound = pkgConfigDirectories.contains { FileManager.default.fileExists(atPath: $0 + "/ompi-c.pc") }
let withMPI = mpiSetting == "1" || (mpiSetting != "0" && openMPIFound)
let mpiTargets: [Target] = withMPI
    ? [.systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"]), .brew(["open-mpi"])])]
    : []

let package = Package(
    name: "adamw",
    products: [
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "Optim", targets: ["Optim"]),
        .library(name: "Autograd", targets: ["Autograd"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        .library(name: "DataParallel", targets: ["DataParallel"]),
        .library(name: "Experiments", targets: ["Experiments"]),
        .library(name: "Charts", targets: ["Charts"]),
        .executable(name: "adamw", targets: ["adamw"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: mpiTargets + [
        // The innermost loops, compiled once per instruction set and chosen at run time (see CKernels.h).
        .target(name: "CKernels"),
        .target(name: "Kernels", dependencies: ["CKernels"], swiftSettings: fast),
        .target(name: "Optim", dependencies: ["Kernels"], swiftSettings: fast),
        .target(name: "Autograd", dependencies: ["Kernels", "Optim"], swiftSettings: fast),
        .target(name: "NN", dependencies: ["Autograd"], swiftSettings: fast),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .target(name: "Datasets", dependencies: ["Kernels", "Autograd", "CZlib"], swiftSettings: fast),
        .target(name: "Checkpoints", dependencies: ["Optim"], swiftSettings: fast),
        .target(name: "DataParallel", dependencies: ["Kernels", "Optim", "Checkpoints"] + (withMPI ? ["CMPI"] : []),
                swiftSettings: fast),
        .target(
            name: "Experiments",
            dependencies: ["Kernels", "Optim", "Autograd", "NN", "Datasets", "Checkpoints", "DataParallel"],
            swiftSettings: fast),
        .target(name: "Charts"),
        .target(
            name: "Benchmarks", dependencies: ["Kernels", "Optim"], path: "Benchmarks",
            exclude: ["against-yardstick.sh", "experiment-parallelism.sh", "gpt2-against-pytorch.sh", "gpt-against-pytorch.sh",
                      "gpt_checkpoint_in_torch.py", "gpt-experiments.sh", "lowbit-against-torchao.sh", "lookup_ceiling.c",
                      "torchao_lowbit_step.py"],
            swiftSettings: fast),
        .executableTarget(
            name: "adamw",
            dependencies: [
                "Kernels", "Optim", "NN", "Datasets", "Checkpoints", "DataParallel", "Experiments", "Charts", "Benchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast
        ),
        .executableTarget(name: "mnist-example", dependencies: ["NN", "Datasets"], path: "Examples/MNIST",
                          swiftSettings: fast),
        .executableTarget(name: "gpt-example", dependencies: ["NN", "Datasets"], path: "Examples/GPT",
                          swiftSettings: fast),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"], swiftSettings: fast),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "TestSupport"], swiftSettings: fast),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "TestSupport"], swiftSettings: fast),
        .testTarget(name: "NNTests", dependencies: ["NN", "Datasets", "TestSupport"], swiftSettings: fast),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"], swiftSettings: fast),
        .testTarget(name: "DataParallelTests", dependencies: ["DataParallel", "Optim"], swiftSettings: fast),
        .executableTarget(
            name: "checkpoint-writer", dependencies: ["Optim", "Checkpoints"], path: "Tests/CheckpointWriter"),
        // checkpoint-writer is not imported: the tests run the built program.
        .testTarget(
            name: "CheckpointsTests", dependencies: ["Optim", "Checkpoints", "TestSupport", "checkpoint-writer"],
            exclude: [], swiftSettings: fast),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "NN", "Datasets"], swiftSettings: fast),
        .testTarget(name: "ChartsTests", dependencies: ["Charts", "TestSupport"]),
        // adamw and mnist-example are not imported: the tests run the built programs.
        .testTarget(name: "adamwTests",
                    dependencies: ["adamw", "mnist-example", "Optim", "Benchmarks", "Checkpoints", "DataParallel", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

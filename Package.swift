// swift-tools-version: 6.0
import Foundation
import PackageDescription

// No compiler flags: the hot loops are C (target CKernels), compiled once per instruction set with clang's target
// attributes and chosen at run time from the CPU's features, so `swift build -c release` gives the same speed whether
// this package is built alone or as another package's dependency (where SwiftPM refuses unsafe flags).

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
        .library(name: "Training", targets: ["Training"]),
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
        .target(name: "Kernels", dependencies: ["CKernels"]),
        .target(name: "Optim", dependencies: ["Kernels"]),
        .target(name: "Autograd", dependencies: ["Kernels", "Optim"]),
        .target(name: "NN", dependencies: ["Autograd"]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .target(name: "Datasets", dependencies: ["Kernels", "Autograd", "CZlib"]),
        .target(name: "Checkpoints", dependencies: ["Optim"]),
        .target(name: "DataParallel", dependencies: ["Kernels", "Optim", "Checkpoints"] + (withMPI ? ["CMPI"] : [])),
        .target(
            name: "Training",
            dependencies: ["Kernels", "Optim", "Autograd", "NN", "Datasets", "Checkpoints", "DataParallel"]),
        .target(
            name: "Experiments",
            dependencies: ["Kernels", "Optim", "Autograd", "NN", "Datasets", "Checkpoints", "DataParallel", "Training"]),
        .target(name: "Charts"),
        // What the command-line programs share: number and table formatting, --threads, memory limits, the one
        // error, and what every program does around its command.
        .target(
            name: "CommandSupport",
            dependencies: ["Kernels", "Checkpoints", "DataParallel",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The benchmarks, outside the CLI: `adamw bench optimizer|gemm` runs the adamw-bench program in its place.
        .target(
            name: "Benchmarks", dependencies: ["Kernels", "Optim"], path: "Benchmarks",
            exclude: ["Command", "DependencyProbe", "against-yardstick.sh", "as-a-dependency.sh", "decay-toward-pretrained.sh", "experiment-parallelism.sh",
                      "gpt2-against-pytorch.sh", "gpt2-finetune-against-pytorch.sh", "gpt2-finetune-quality.sh", "torch_gpt2_finetune_quality.py", "gpt-against-pytorch.sh", "torch_gpt2_finetune_step.py",
                      "gpt_checkpoint_in_torch.py", "gpt2_folder_in_transformers.py", "gpt-experiments.sh", "lowbit-against-torchao.sh", "lookup_ceiling.c",
                      "schedule-free-vs-cosine.sh", "torchao_lowbit_step.py"]),
        .executableTarget(
            name: "adamw-bench", dependencies: ["Benchmarks", "CommandSupport", "Kernels", "Optim", "NN", "Datasets", "Training"],
            path: "Benchmarks/Command"),
        // adamw-bench is built with adamw (adamw runs it for `adamw bench optimizer|gemm`), not linked into it.
        .executableTarget(
            name: "adamw",
            dependencies: [
                "Kernels", "Optim", "NN", "Datasets", "Checkpoints", "DataParallel", "Training", "Experiments", "Charts",
                "CommandSupport", "adamw-bench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "mnist-example", dependencies: ["NN", "Datasets"], path: "Examples/MNIST"),
        .executableTarget(name: "gpt-example", dependencies: ["NN", "Datasets"], path: "Examples/GPT"),
        // The library as a dependent package uses it (Benchmarks/as-a-dependency.sh builds it both ways).
        .executableTarget(name: "dependency-probe", dependencies: ["NN", "Datasets"], path: "Benchmarks/DependencyProbe"),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "TestSupport"]),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Datasets", "TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"]),
        .testTarget(name: "DataParallelTests", dependencies: ["DataParallel", "Optim"]),
        .executableTarget(
            name: "checkpoint-writer", dependencies: ["Optim", "Checkpoints"], path: "Tests/CheckpointWriter"),
        // checkpoint-writer is not imported: the tests run the built program.
        .testTarget(
            name: "CheckpointsTests", dependencies: ["Optim", "Checkpoints", "TestSupport", "checkpoint-writer"],
            exclude: []),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "NN", "Datasets", "Checkpoints", "TestSupport"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Training", "NN", "Datasets"]),
        .testTarget(name: "ChartsTests", dependencies: ["Charts", "TestSupport"]),
        // adamw, mnist-example and dependency-probe are not imported: the tests run the built programs.
        .testTarget(name: "adamwTests",
                    dependencies: ["adamw", "mnist-example", "dependency-probe", "Optim", "Benchmarks", "Checkpoints",
                                   "DataParallel", "TestSupport", "Training"]),
    ],
    swiftLanguageModes: [.v6]
)

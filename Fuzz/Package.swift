// swift-tools-version: 6.0
// libFuzzer targets for the two readers of untrusted files: IDX (MNIST, raw or gzip) and safetensors checkpoints.
// A package of its own so that the fuzzer flags never reach the main package. See Fuzz/README.md.
import PackageDescription

let package = Package(
    name: "adamw-fuzz",
    dependencies: [.package(name: "adamw", path: "..")],
    targets: [
        .executableTarget(name: "idx-fuzzer", dependencies: [.product(name: "Datasets", package: "adamw")]),
        .executableTarget(name: "safetensors-fuzzer", dependencies: [
            .product(name: "Checkpoints", package: "adamw"), .product(name: "Optim", package: "adamw"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

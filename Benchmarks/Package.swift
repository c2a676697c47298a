// swift-tools-version:6.2
import PackageDescription
import Foundation

/// The root package is a path dependency; its identity is the name of its folder (a clone may be named anything).
let root = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

/// Benchmarks of Verigate's hot paths (ordo-one/package-benchmark): `swift package benchmark`
/// in this folder, or `make bench` at the top. Kept apart so the server build stays lean.
let suites: [(name: String, product: String)] = [
    ("SIPBenchmarks", "SIPMessage"),
    ("RTPBenchmarks", "RTP"),
    ("MediaBenchmarks", "Media"),
    ("CoreBenchmarks", "VerificationServer"),
    ("GatewayBenchmarks", "GatewayProtocol"),
]

let package = Package(
    name: "VerigateBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: suites.map { suite in
        .executableTarget(
            name: suite.name,
            dependencies: [
                .product(name: suite.product, package: root),
                .product(name: "Verification", package: root),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/\(suite.name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        )
    }
)

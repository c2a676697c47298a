// swift-tools-version:6.2
import PackageDescription

/// Verigate: phone-number verification server (core + SIP/RTP voice gateway).
/// Layering (see docs/ARCHITECTURE.md): pure targets never import NIOPosix, Hummingbird or Foundation networking.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

var package = Package(
    name: "Verigate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "verigate", targets: ["verigate"]),
        // Libraries for the Benchmarks package (../Benchmarks), one per hot path.
        .library(name: "SIPMessage", targets: ["SIPMessage"]),
        .library(name: "RTP", targets: ["RTP"]),
        .library(name: "Media", targets: ["Media"]),
        .library(name: "Verification", targets: ["Verification"]),
        .library(name: "VerificationServer", targets: ["VerificationServer"]),
        .library(name: "GatewayProtocol", targets: ["GatewayProtocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // SIP over TLS (RFC 3261 §26); already in the graph through async-http-client.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        // SQLite: one write connection with group commit, readers, cached statements (Store/SQLiteDatabasePool.swift).
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        // Deque (already in the graph through swift-nio).
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // Tests only: the peers tests run (SIPp, dnsmasq, verigate itself), see Tests/TestSupport/ChildProcess.swift.
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: [
        // MARK: Text syntax shared by the parsers (RFC 5234 core rules)
        .target(name: "ABNF", swiftSettings: strict),

        // MARK: SIP
        .target(name: "SIPMessage", dependencies: ["ABNF", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .target(name: "SIPStack", dependencies: ["ABNF", "SIPMessage", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),

        // MARK: Media
        .target(name: "SDP", dependencies: ["ABNF"], swiftSettings: strict),
        // libcrypto's AES and SHA-1 for SRTP (RFC 3711; why not libsrtp2: Sources/COpenSSL/shim.h).
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "RTP", dependencies: ["COpenSSL", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        // libsrtp2: the reference SRTP implementation the tests check RTP's against (Tests/RTPTests).
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .target(name: "Media", dependencies: ["ABNF", "SDP", "COpus"], swiftSettings: strict),

        // MARK: Voice gateway
        .target(name: "GatewayProtocol", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        // c-ares for RFC 3263 server location (why c-ares: Sources/CAres/include/CAres.h).
        .target(name: "CAres", linkerSettings: [.linkedLibrary("cares")]),
        .target(
            name: "VoiceGateway",
            dependencies: [
                "ABNF", "SIPMessage", "SIPStack", "GatewayProtocol", "SDP", "RTP", "Media", "CAres",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),

        // MARK: SMS gateways
        .target(
            name: "SMPP",
            dependencies: [
                "ABNF",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // MARK: Verification core
        .target(
            name: "CPhoneNumber",
            cxxSettings: [.unsafeFlags(["-std=c++17"])],
            linkerSettings: [.linkedLibrary("phonenumber"), .linkedLibrary("stdc++")]
        ),
        .target(name: "Verification", dependencies: ["ABNF", "CPhoneNumber", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .target(
            name: "VerificationServer",
            dependencies: [
                "ABNF", "Verification", "GatewayProtocol",
                "SMPP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "verigate",
            dependencies: [
                "ABNF", "VerificationServer", "VoiceGateway", "GatewayProtocol",
                "SMPP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        // MARK: Tests
        // Helpers shared by test targets (blocking work kept off the cooperative pool, the test SMSC).
        .target(name: "TestSupport", dependencies: [
            .product(name: "Subprocess", package: "swift-subprocess"), .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "ABNFTests", dependencies: ["ABNF"]),
        .testTarget(name: "SIPMessageTests", dependencies: ["SIPMessage"], resources: [.copy("Resources")]),
        .testTarget(name: "SIPStackTests", dependencies: ["SIPStack"]),
        .testTarget(name: "SDPTests", dependencies: ["SDP"], resources: [.copy("Resources")]),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "SDP", "CSRTP", "TestSupport"]),
        .testTarget(name: "MediaTests", dependencies: ["Media", "SDP", "TestSupport"]),
        .testTarget(name: "VerificationTests", dependencies: ["Verification"]),
        .testTarget(name: "SMPPTests", dependencies: ["SMPP", "TestSupport"]),
        .testTarget(name: "VoiceGatewayTests", dependencies: [
            "VoiceGateway", "GatewayProtocol", "TestSupport", .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "GatewayProtocolTests", dependencies: [
            "GatewayProtocol", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOTestUtils", package: "swift-nio"),
        ]),
        // Reads Sources/: each target imports only what docs/ARCHITECTURE.md allows.
        .testTarget(name: "ArchitectureTests"),
        // Drives real peers (SIPp, baresip, …) against our endpoints; see docs/TESTING.md.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "VoiceGateway", "VerificationServer", "GatewayProtocol", "Media", "RTP", "TestSupport",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "VerificationServerTests",
            dependencies: [
                "VerificationServer", "GatewayProtocol", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
    ]
)

/// Developer knob for fast iterations: `VERIGATE_TARGETS=SIPMessage,SIPStack swift test` builds only
/// the named targets and their test targets (list every target they depend on; TestSupport and ABNF
/// are always kept). Unset: everything.
if let only = Context.environment["VERIGATE_TARGETS"].map({ Set($0.split(separator: ",").map(String.init)) }) {
    package.targets = package.targets.filter { target in
        only.contains(target.name) || ["TestSupport", "ABNF"].contains(target.name) || (target.type == .test && only.contains(String(target.name.dropLast(5))))
    }
    package.products = package.products.filter { product in
        let targets = (product as? Product.Library)?.targets ?? (product as? Product.Executable)?.targets ?? []
        return targets.allSatisfy(only.contains)
    }
}

/// Fuzzing (Fuzz/run.sh, Fuzz/README.md): `VERIGATE_FUZZ=1` adds one libFuzzer target per parser that
/// faces the network, built with `-sanitize=fuzzer,address`, and `FuzzDriver` (libFuzzer's entry
/// point, shared by them). Absent from normal builds (they have no `main` of their own). A target is
/// added only when every target it needs is in the package, so `VERIGATE_TARGETS` can pick a few.
if Context.environment["VERIGATE_FUZZ"] != nil {
    let nio = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
    let fuzzTargets: [(name: String, needs: [String], extra: [Target.Dependency])] = [
        ("SIPMessageFuzz", ["SIPMessage"], [nio]),
        ("SDPFuzz", ["SDP"], []),
        ("RTPFuzz", ["RTP"], [nio]),
        ("SMPPFuzz", ["SMPP"], [nio]),
        ("GatewayLineFuzz", ["GatewayProtocol"], [nio]),
        ("SIPConfFuzz", ["VoiceGateway"], []),
    ]
    // Fuzz builds build no tests: a test target may need a target the fuzz targets do not (RTPTests
    // checks RTP against libsrtp2's CSRTP), and VERIGATE_TARGETS keeps only what they need.
    package.targets.removeAll { $0.type == .test }
    package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/FuzzDriver", swiftSettings: strict))
    let present = Set(package.targets.map(\.name))
    for fuzz in fuzzTargets where fuzz.needs.allSatisfy(present.contains) {
        package.targets.append(
            .executableTarget(
                name: fuzz.name,
                dependencies: ["FuzzDriver"] + fuzz.needs.map { .target(name: $0) } + fuzz.extra,
                path: "Fuzz/\(fuzz.name)",
                swiftSettings: strict + [.unsafeFlags(["-parse-as-library"])]
            )
        )
        package.products.append(.executable(name: fuzz.name, targets: [fuzz.name]))
    }
}

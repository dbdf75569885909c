// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "strates",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "strates", targets: ["strates"]),
        .executable(name: "strates-load", targets: ["strates-load"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .target(name: "StratesCore"),
        // glibc's malloc_trim, for MemoryTrimmer in StratesServer.
        .target(name: "CMalloc"),
        // The JSON scanner's long-string scan, sixteen bytes at a time (SSE2).
        .target(name: "CByteScan"),
        .target(name: "StratesWire", dependencies: ["StratesCore", "CByteScan"]),
        .target(
            name: "StratesProviders",
            dependencies: [
                "StratesCore", "StratesWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The ledger without a database: store protocols, the crash journal and its writer,
        // budget counters. What the gateway and the reports depend on.
        .target(
            name: "StratesLedger",
            dependencies: [
                "StratesCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The ledger on SQLite (GRDB): one implementation of StratesLedger's stores.
        .target(
            name: "StratesLedgerSQLite",
            dependencies: [
                "StratesCore", "StratesLedger",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "StratesGateway",
            dependencies: [
                "StratesCore", "StratesWire", "StratesProviders", "StratesLedger",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Reports, importers and (next) the sandbox: read the ledger through its store
        // protocols; price and attribute through the gateway's own rules.
        .target(
            name: "StratesAnalytics",
            dependencies: ["StratesCore", "StratesWire", "StratesLedger", "StratesGateway", "CByteScan"]
        ),
        .target(
            name: "StratesServer",
            dependencies: [
                "StratesCore", "StratesWire", "StratesProviders", "StratesLedger", "StratesLedgerSQLite", "StratesGateway", "StratesAnalytics", "CMalloc",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "strates",
            dependencies: [
                "StratesCore", "StratesLedger", "StratesLedgerSQLite", "StratesServer", "StratesGateway", "StratesProviders", "StratesAnalytics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The benchmark harness's load generator (bench/run.py); not part of the gateway.
        .executableTarget(
            name: "strates-load",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // What the test targets share: seeded randomness, temporary folders, dates and dollars.
        .target(name: "StratesTestSupport", dependencies: ["StratesCore"], path: "Tests/StratesTestSupport"),
        // One test target per source target, named after it.
        .testTarget(name: "StratesCoreTests", dependencies: ["StratesCore", "StratesWire", "StratesTestSupport"]),
        .testTarget(name: "StratesWireTests", dependencies: ["StratesCore", "StratesWire", "StratesProviders", "StratesTestSupport"]),
        .testTarget(name: "StratesProvidersTests", dependencies: ["StratesCore", "StratesProviders", "StratesTestSupport"]),
        .testTarget(name: "StratesLedgerTests", dependencies: ["StratesCore", "StratesLedger", "StratesLedgerSQLite", "StratesTestSupport"]),
        .testTarget(
            name: "StratesLedgerSQLiteTests",
            dependencies: ["StratesCore", "StratesLedger", "StratesLedgerSQLite", "StratesGateway", "StratesAnalytics", "StratesTestSupport"]),
        .testTarget(
            name: "StratesGatewayTests",
            dependencies: [
                "StratesCore", "StratesWire", "StratesProviders", "StratesLedger", "StratesLedgerSQLite", "StratesGateway", "StratesServer",
                "StratesTestSupport",
            ]),
        .testTarget(
            name: "StratesAnalyticsTests",
            dependencies: [
                "StratesCore", "StratesWire", "StratesProviders", "StratesLedger", "StratesLedgerSQLite", "StratesGateway", "StratesAnalytics", "CByteScan",
                "StratesServer", "StratesTestSupport",
            ]),
        .testTarget(
            name: "StratesServerTests",
            dependencies: [
                "StratesCore", "StratesLedger", "StratesLedgerSQLite", "StratesGateway", "StratesAnalytics", "StratesServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"), "StratesTestSupport",
            ]),
    ]
)

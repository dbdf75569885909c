// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "relay-probe",
    dependencies: [.package(url: "https://github.com/apple/swift-nio", from: "2.101.2")],
    targets: [
        .executableTarget(name: "relay-probe", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)

// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "rollcast",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rollcast-producer", targets: ["rollcast-producer"]),
        .executable(name: "rollcast-gateway", targets: ["rollcast-gateway"]),
        .executable(name: "rollcast-bench", targets: ["rollcast-bench"]),
        .executable(name: "rollcast-keygen", targets: ["rollcast-keygen"]),
        .executable(name: "rollcast-broker", targets: ["rollcast-broker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", exact: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio", exact: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/vapor/jwt-kit", exact: "5.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        // Only in rollcast-bench: the CSV reader the replay's own is measured against.
        .package(url: "https://github.com/yaslab/CSV.swift", exact: "2.5.2"),
    ],
    targets: [
        // libzmq's C API, found through pkg-config.
        .systemLibrary(
            name: "CZMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // A small Swift wrapper on CZMQ: contexts, sockets, messages, errors.
        .target(name: "ZeroMQ", dependencies: ["CZMQ"]),
        // What both processes share: the messages on the wire, settings, start-up steps.
        .target(
            name: "RollcastCore",
            dependencies: [
                "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Ticks in (mock feed, ingest, replay), rolling windows, snapshots out.
        .target(
            name: "RollcastProducer",
            dependencies: [
                "ZeroMQ",
                "RollcastCore",
                .product(name: "DequeModule", package: "swift-collections"),
                // Replayed .gz files, inflated as they are read.
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "RollcastGateway",
            dependencies: [
                "ZeroMQ",
                "RollcastCore",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The flags every command shares (run directory, log level, CURVE for servers), each
        // validating and resolving itself.
        .target(
            name: "RollcastOptions",
            dependencies: [
                "RollcastCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "rollcast-producer",
            dependencies: [
                "RollcastProducer",
                "RollcastOptions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "rollcast-gateway",
            dependencies: [
                "RollcastGateway",
                "RollcastOptions",
                "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Between producers and gateways: forwarding, and each producer's last snapshot for newcomers.
        .target(
            name: "RollcastBroker",
            dependencies: [
                "ZeroMQ",
                "RollcastCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "rollcast-broker",
            dependencies: [
                "RollcastBroker",
                "RollcastOptions",
                "RollcastCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // CURVE key pairs for tcp:// links.
        .executableTarget(
            name: "rollcast-keygen",
            dependencies: [
                "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks behind docs/performance.md: windows and encoding, the ZeroMQ hop, fan-out.
        .executableTarget(
            name: "rollcast-bench",
            dependencies: [
                "RollcastCore",
                "RollcastProducer",
                "RollcastGateway",
                "ZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "CSV", package: "CSV.swift"),
            ]
        ),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "RollcastCoreTests", dependencies: ["RollcastCore"]),
        .testTarget(
            name: "RollcastProducerTests",
            dependencies: ["RollcastProducer", "RollcastCore", .product(name: "DequeModule", package: "swift-collections")]
        ),
        .testTarget(
            name: "RollcastGatewayTests",
            dependencies: [
                "RollcastGateway",
                "RollcastCore",
                // The producer's own encoder makes the snapshots the merger is tested on.
                "RollcastProducer",
                "ZeroMQ",
                // The HTTP routes answered in-process, without a socket.
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "RollcastCore",
                "RollcastProducer",
                "ZeroMQ",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Inflating what a raw client of a compressing gateway receives.
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSCompression", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
    ]
)

// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Rampart",
    products: [
        .executable(name: "rampart", targets: ["rampart"]),
        .executable(name: "rampart-demo-app", targets: ["rampart-demo-app"]),
    ],
    targets: [
        // System libraries: libcurl (upstream HTTP), OpenSSL (TLS, crypto), Linux event APIs.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLinux"),

        // Wire formats without I/O.
        .target(name: "RampartHTTP"),

        // The gateway.
        .target(name: "Rampart", dependencies: ["RampartHTTP", "CCurl", "COpenSSL", "CLinux"]),

        .executableTarget(name: "rampart", dependencies: ["Rampart"]),
        .executableTarget(name: "rampart-demo-app"),

        .testTarget(name: "RampartHTTPTests", dependencies: ["RampartHTTP"], resources: []),
        .testTarget(name: "RampartTests", dependencies: ["Rampart", "RampartHTTP"]),
        .testTarget(name: "IntegrationTests", dependencies: ["RampartHTTP", "CLinux"]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Rampart",
    products: [
        .executable(name: "rampart", targets: ["rampart"]),
        .executable(name: "rampart-demo-app", targets: ["rampart-demo-app"]),
    ],
    targets: [
        // System libraries: libcurl (upstream HTTP), OpenSSL (TLS, crypto), Linux event APIs, libxml2.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLinux"),
        // libnghttp2: HTTP/2 framing, HPACK and flow control for the front door (SPEC §11.7).
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        // libxml2's HTML parser: the tokenizer behind stream_save's HTML sanitizer.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),

        // Wire formats without I/O: HTTP/1.1, chunked, SSE, JSON, RESP, and the protocol state machines.
        .target(name: "RampartHTTP"),
        // The event loop, sockets, TLS sessions, buffers and the clock.
        .target(name: "RampartLoop", dependencies: ["CLinux", "COpenSSL"]),
        // Client connections (HTTP/1.1, and HTTP/2 through libnghttp2) and upstream calls (native HTTP/1.1, libcurl).
        .target(name: "RampartTransport", dependencies: ["RampartHTTP", "RampartLoop", "CCurl", "CLinux", "CNGHTTP2"]),

        // The gateway.
        // The proxy core and its filters: the exchange, the filter chain, the policies, the config
        // model they read, the store interfaces, metrics and the access log.
        .target(name: "RampartProxy", dependencies: ["RampartHTTP", "RampartLoop", "RampartTransport", "COpenSSL", "CLinux", "CLibXML2"]),
        // App wiring: config loading, the stores, the admin API, startup, reload and shutdown.
        .target(name: "Rampart", dependencies: ["RampartHTTP", "RampartLoop", "RampartTransport", "RampartProxy", "CCurl", "COpenSSL", "CLinux"]),

        .executableTarget(name: "rampart", dependencies: ["Rampart", "RampartTransport", "RampartProxy"]),
        // The demo app links OpenSSL only for its WebSocket handshake's SHA-1.
        .executableTarget(name: "rampart-demo-app", dependencies: ["COpenSSL"]),

        .testTarget(name: "RampartHTTPTests", dependencies: ["RampartHTTP"], resources: []),
        .testTarget(name: "RampartTests", dependencies: ["Rampart", "RampartHTTP", "RampartLoop", "RampartTransport", "RampartProxy"]),
        .testTarget(name: "IntegrationTests", dependencies: ["RampartHTTP", "RampartLoop", "CLinux"]),
    ],
    swiftLanguageModes: [.v6]
)

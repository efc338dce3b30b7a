import Glibc

/// Entry point: `rampart-demo-app [--host H] [--port N] [--log]`.
///
/// Prints exactly one line to stdout once listening — `rampart-demo-app listening on HOST:PORT` —
/// because tests start it with `--port 0` and read the port from that line. SIGTERM/SIGINT exit 0
/// at once: the app holds nothing worth draining.
struct Options {
    var host = "127.0.0.1"
    var port = 3000
    var logRequests = false

    static let usage = """
        usage: rampart-demo-app [--host ADDR] [--port N] [--log]
          --host ADDR  address to listen on (default 127.0.0.1)
          --port N     port (default 3000; 0 picks a free port)
          --log        one line per request on stderr

        """

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            var name = argument
            var inlineValue: String?
            if let eq = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<eq])
                inlineValue = String(argument[argument.index(after: eq)...])
            }
            func value() -> String {
                if let inlineValue { return inlineValue }
                guard let next = rest.popFirst() else { fail("\(name) needs a value") }
                return next
            }
            switch name {
            case "--host": options.host = value()
            case "--port":
                let text = value()
                guard let port = Int(text), (0...65535).contains(port) else { fail("invalid port: \(text)") }
                options.port = port
            case "--log": options.logRequests = true
            case "-h", "--help":
                writeOut(1, usage)
                exit(0)
            default: fail("unknown argument: \(argument)")
            }
        }
        return options
    }

    static func fail(_ message: String) -> Never {
        writeOut(2, "rampart-demo-app: \(message)\n" + usage)
        exit(2)
    }
}

/// Unbuffered write to a file descriptor (stdout/stderr globals are not concurrency-safe in Swift 6).
func writeOut(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
}

let options = Options.parse(CommandLine.arguments)
signal(SIGTERM) { _ in _exit(0) }
signal(SIGINT) { _ in _exit(0) }
signal(SIGPIPE, SIG_IGN)

do {
    let server = try Server(host: options.host, port: options.port, logRequests: options.logRequests)
    writeOut(1, "rampart-demo-app listening on \(server.address):\(server.port)\n")
    server.run()
} catch {
    writeOut(2, "rampart-demo-app: \(error)\n")
    exit(1)
}

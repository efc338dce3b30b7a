import CCurl
import CLinux
import COpenSSL
import Foundation
import Rampart

/// rampart serve | check | version (SPEC §2).
func usage() -> Never {
    FileHandle.standardError.write(Data("""
    usage: rampart [serve] [--config FILE]    run the gateway (default ./gateway.json)
           rampart check --config FILE        validate a config; exit 1 on errors
           rampart version                    print versions

    """.utf8))
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
var command = "serve"
if let first = args.first, !first.hasPrefix("-") { command = first; args.removeFirst() }
var configPath = "gateway.json"
while !args.isEmpty {
    let a = args.removeFirst()
    switch a {
    case "--config", "-c":
        guard !args.isEmpty else { usage() }
        configPath = args.removeFirst()
    case "--help", "-h": usage()
    default:
        if a.hasPrefix("--config=") { configPath = String(a.dropFirst(9)) } else { usage() }
    }
}

func printErrors(_ errors: ConfigErrors, path: String) {
    for e in errors.errors { FileHandle.standardError.write(Data("\(path): \(e.description)\n".utf8)) }
}

switch command {
case "version":
    print("rampart \(RampartVersion.version)")
    print("libcurl: \(String(cString: rampart_curl_version()))")
    print("openssl: \(String(cString: rampart_openssl_version()))")
    exit(0)

case "check":
    do {
        let config = try ConfigLoader.load(path: configPath)
        print("\(configPath): ok (\(config.routes.count) routes, \(config.upstreams.count) upstreams, hash \(config.hash.prefix(12)))")
        exit(0)
    } catch {
        printErrors(error, path: configPath)
        exit(1)
    }

case "serve":
    // Signals are read from a signalfd on this thread; block them before any thread starts.
    let signals = rampart_signalfd_for_control_signals()
    rampart_ignore_sigpipe()
    CurlTransport.globalInit()
    let config: GatewayConfig
    do { config = try ConfigLoader.load(path: configPath) } catch { printErrors(error, path: configPath); exit(1) }
    let gateway: Gateway
    do { gateway = try Gateway(config: config, configPath: configPath) } catch {
        FileHandle.standardError.write(Data("rampart: cannot start: \(error)\n".utf8))
        exit(1)
    }
    do { try gateway.start() } catch {
        FileHandle.standardError.write(Data("rampart: cannot start: \(error)\n".utf8))
        exit(1)
    }
    while true {
        let sig = rampart_signalfd_read(signals)
        if sig == SIGHUP {
            _ = gateway.reload()
        } else if sig == SIGTERM || sig == SIGINT {
            _ = gateway.drainAndStop()
            exit(0)
        }
    }

default:
    usage()
}

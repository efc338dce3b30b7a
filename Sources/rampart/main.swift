import CCurl
import CLinux
import COpenSSL
import Foundation
import Rampart
import RampartTransport
import RampartProxy

/// rampart serve | check | version | help (SPEC §2).
let usageText = """
usage: rampart [serve] [--config FILE]    run the gateway (default ./gateway.json)
       rampart check [--config FILE]      validate a config and list the secrets serve needs; exit 1 on errors
       rampart version                    print Rampart's, libcurl's and OpenSSL's versions (also --version)
       rampart help                       print this text (also --help)

signals: SIGTERM drains (readiness 503 for server.drain_delay, then in-flight work gets
         server.drain_timeout_ms); SIGINT drains without the delay; a second signal cuts at once;
         SIGHUP reloads the config.

"""

/// A usage mistake: the text on stderr, exit 2 (the convention of getopt-style tools).
func usageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("rampart: \(message)\n\(usageText)".utf8))
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
        guard !args.isEmpty else { usageError("--config needs a file") }
        configPath = args.removeFirst()
    case "--help", "-h": command = "help"
    case "--version", "-V": command = "version"
    default:
        if a.hasPrefix("--config=") { configPath = String(a.dropFirst(9)) } else { usageError("unknown option \(a)") }
    }
}

func printErrors(_ errors: ConfigErrors, path: String) {
    for e in errors.errors { FileHandle.standardError.write(Data("\(path): \(e.description)\n".utf8)) }
}

switch command {
case "help":
    print(usageText, terminator: "")
    exit(0)

case "version":
    print("rampart \(RampartVersion.version)")
    print("libcurl: \(String(cString: rampart_curl_version()))")
    print("openssl: \(String(cString: rampart_openssl_version()))")
    exit(0)

case "check":
    // Needs no secrets: a config can be checked in CI or on a laptop. What serve will read from
    // the environment and from secret files is listed, with whether it is there on this machine.
    do {
        let config = try ConfigLoader.load(path: configPath, requireSecrets: false)
        print("\(configPath): ok (\(config.routes.count) routes, \(config.upstreams.count) upstreams, hash \(config.hash.prefix(12)))")
        let env = config.secrets.filter { $0.kind == .env }, files = config.secrets.filter { $0.kind == .file }
        if !env.isEmpty {
            print("serve needs these environment variables:")
            for s in env { print("  \(s.name)  (\(s.path))  \(s.present ? "set here" : "not set here")") }
        }
        if !files.isEmpty {
            print("serve reads these files:")
            for s in files { print("  \(s.name)  (\(s.path))  \(s.present ? "readable here" : "missing here")") }
        }
        if config.admin.listen != nil && !config.admin.insecureNoAuth && config.admin.tokenEnv == nil && config.admin.tokenFile == nil {
            print("warning: admin has no token_env or token_file, so serve's admin API will refuse every call")
        }
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
            // SIGTERM comes from an orchestrator whose load balancer needs the delay to stop
            // routing here; SIGINT is a person at a terminal, where nobody routes by readiness.
            let delay = sig == SIGTERM ? gateway.state.current.config.server.drainDelayMs : 0
            _ = gateway.drainAndStop(reason: sig == SIGTERM ? "SIGTERM" : "SIGINT", delayMs: delay) {
                let next = rampart_signalfd_poll(signals, 0)
                return next == SIGTERM || next == SIGINT
            }
            exit(0)
        }
    }

default:
    usageError("unknown command \(command)")
}

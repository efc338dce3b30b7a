import Foundation
import Glibc
import Testing

private let systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
private let manifests = ["rampart.yaml", "rampart-single.yaml"]

/// The gateway.json of a manifest's ConfigMap, cut out of the YAML block scalar.
private func configMapGatewayJSON(_ manifest: String) throws -> String {
    let yaml = try String(contentsOfFile: Binaries.repoRoot + "/deploy/kubernetes/" + manifest, encoding: .utf8)
    let lines = yaml.components(separatedBy: "\n")
    guard let start = lines.firstIndex(where: { $0.contains("gateway.json: |") }) else { throw TestFailure("no gateway.json in \(manifest)'s ConfigMap") }
    return lines[(start + 1)...].prefix { $0.hasPrefix("    ") }.map { String($0.dropFirst(4)) }.joined(separator: "\n")
}

private func check(_ path: String) throws -> ChildProcess {
    let p = try ChildProcess(Binaries.rampart, ["check", "--config", path], environment: ["RAMPART_ADMIN_TOKEN": "x"])
    _ = try p.waitForExit()
    return p
}

@Suite(.serialized) struct DeployTests {
    /// The configs shipped in deploy/ are valid for the rampart that ships with them.
    @Test func shippedConfigsPassCheck() throws {
        let compose = try check(Binaries.repoRoot + "/deploy/compose-gateway.json")
        #expect(compose.process.terminationStatus == 0, "\(compose.lines)")
        for manifest in manifests {
            let path = NSTemporaryDirectory() + "k8s-gateway-\(UUID().uuidString).json"
            try configMapGatewayJSON(manifest).write(toFile: path, atomically: true, encoding: .utf8)
            let k8s = try check(path)
            #expect(k8s.process.terminationStatus == 0, "\(manifest): \(k8s.lines)")
        }
    }

    /// The manifests parse as YAML, every name they refer to exists, and they carry what ops rely
    /// on: 3 replicas on Redis with probes on the health paths; or one replica of the memory store
    /// whose store.dir is the persistent volume.
    @Test func kubernetesManifestsParseAndReferOnlyToWhatExists() throws {
        let multi = try runPython(Binaries.repoRoot + "/Tests/Fixtures/k8s_check.py", [Binaries.repoRoot + "/deploy/kubernetes/rampart.yaml"])
        #expect(multi.0 == 0, "\(multi.1)")
        for kind in ["'ConfigMap'", "'Deployment'", "'PodDisruptionBudget'", "'Secret'", "'StatefulSet'"] { #expect(multi.1.contains(kind), "\(multi.1)") }
        #expect(multi.1.contains("Deployment rampart replicas=3 readiness=/_rampart/readyz liveness=/_rampart/healthz"), "\(multi.1)")
        let redisConfig = try configMapGatewayJSON("rampart.yaml")
        #expect(redisConfig.contains(#""kind": "redis""#))
        #expect(try String(contentsOfFile: Binaries.repoRoot + "/deploy/kubernetes/rampart.yaml", encoding: .utf8).contains(#""--appendonly", "yes""#),
                "Redis holds the journal: it must persist every write")

        let single = try runPython(Binaries.repoRoot + "/Tests/Fixtures/k8s_check.py", [Binaries.repoRoot + "/deploy/kubernetes/rampart-single.yaml"])
        #expect(single.0 == 0, "\(single.1)")
        #expect(single.1.contains("StatefulSet rampart-single replicas=1 readiness=/_rampart/readyz liveness=/_rampart/healthz"), "\(single.1)")
        let memoryConfig = try configMapGatewayJSON("rampart-single.yaml")
        #expect(memoryConfig.contains(#""store": {"kind": "memory", "dir": "/var/lib/rampart"}"#))
        #expect(single.1.contains("state:/var/lib/rampart"), "store.dir is the claim's mount: \(single.1)")
    }

    @Test(.enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed here (no systemd in this container)"))
    func systemdUnitVerifies() throws {
        let p = try ChildProcess(systemdAnalyze!, ["verify", Binaries.repoRoot + "/deploy/rampart.service"])
        let status = try p.waitForExit()
        let complaints = p.lines.filter { $0.contains("rampart.service") && !$0.contains("Command /usr/local/bin/rampart is not executable") }
        #expect(status == 0 || complaints.isEmpty, "\(p.lines)")
    }

    /// The Dockerfile's steps without a Docker engine: build the release binary with the static
    /// Swift runtime, install it into a fresh root, and run it as the image does — an unprivileged
    /// user, the ConfigMap's gateway.json (addresses pointed at local peers), the HEALTHCHECK's curl.
    @Test(.timeLimit(.minutes(20))) func releaseBinaryRunsFromAnInstallRootWithTheConfigMap() throws {
        let scratch = Binaries.repoRoot + "/.build-release"
        let build = try ChildProcess("/usr/bin/env", ["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "rampart",
                                                      "--scratch-path", scratch], cwd: Binaries.repoRoot)
        #expect(try build.waitForExit(timeout: 1100) == 0, "\(build.lines.suffix(20))")
        let binPath = try ChildProcess("/usr/bin/env", ["swift", "build", "-c", "release", "--scratch-path", scratch, "--show-bin-path"], cwd: Binaries.repoRoot)
        _ = try binPath.waitForExit()
        let built = try #require(binPath.lines.last { $0.hasPrefix("/") }) + "/rampart"

        // install -D …/rampart /out/usr/local/bin/rampart; COPY gateway.json /etc/rampart/; WORKDIR /var/lib/rampart
        let root = NSTemporaryDirectory() + "rampart-root-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let install = try ChildProcess("/usr/bin/install", ["-D", built, root + "/usr/local/bin/rampart"])
        #expect(try install.waitForExit() == 0)
        let binary = root + "/usr/local/bin/rampart"
        // The runtime image has libcurl4 and libssl3 but no Swift runtime: the binary must not need one.
        let ldd = try ChildProcess("/usr/bin/ldd", [binary])
        _ = try ldd.waitForExit()
        #expect(!ldd.lines.contains { $0.contains("not found") || $0.contains("libswift") || $0.contains("libFoundation") || $0.contains("libdispatch") },
                "\(ldd.lines)")
        #expect(ldd.lines.contains { $0.contains("libcurl") } && ldd.lines.contains { $0.contains("libssl") })

        let redis = try RedisServer()
        let app = try DemoApp()
        let workdir = root + "/var/lib/rampart"
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/etc/rampart", withIntermediateDirectories: true)
        let config = try configMapGatewayJSON("rampart.yaml")
            .replacingOccurrences(of: "0.0.0.0:8080", with: "127.0.0.1:0").replacingOccurrences(of: "0.0.0.0:9901", with: "127.0.0.1:0")
            .replacingOccurrences(of: "redis://rampart-redis:6379/0", with: "redis://127.0.0.1:\(redis.port)/0")
            .replacingOccurrences(of: "http://app:3000", with: app.url)
            .replacingOccurrences(of: #""dir": "/var/lib/rampart""#, with: #""dir": "\#(workdir)""#)
        try config.write(toFile: root + "/etc/rampart/gateway.json", atomically: true, encoding: .utf8)

        // USER rampart (uid 10001) when we may switch users; otherwise as ourselves.
        var command = [binary, "serve", "--config", root + "/etc/rampart/gateway.json"]
        if getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            chmod(root, 0o755)
            _ = chown(workdir, 10001, 10001)
            command = ["/usr/bin/setpriv", "--reuid", "10001", "--regid", "10001", "--clear-groups"] + command
        }
        let rampart = try ChildProcess(command[0], Array(command.dropFirst()), environment: ["RAMPART_ADMIN_TOKEN": "k8s-secret-token"], cwd: workdir)
        defer { rampart.stop() }
        let line = try rampart.waitForLine(containing: "rampart listening")
        let ports = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        let port = try #require((ports["listen"] as? String)?.split(separator: ":").last.flatMap { UInt16($0) })
        let adminPort = try #require((ports["admin"] as? String)?.split(separator: ":").last.flatMap { UInt16($0) })

        // HEALTHCHECK CMD curl -fsS http://127.0.0.1:8080/_rampart/healthz
        let health = try ChildProcess("/usr/bin/curl", ["-fsS", "http://127.0.0.1:\(port)/_rampart/healthz"])
        #expect(try health.waitForExit() == 0, "\(health.lines)")
        try eventually("ready: config loaded and Redis reachable") { try HTTPClient.request(port: port, path: "/_rampart/readyz").status == 200 }
        let r = try HTTPClient.request(port: port, path: "/echo", headers: ["X-User-Id": "u1"])
        #expect(r.status == 200 && r.header("X-Frame-Options") == "DENY" && r.header("RateLimit-Policy") != nil, "\(r.headers)")
        let status = try HTTPClient.request(port: adminPort, path: "/admin/status", headers: ["Authorization": "Bearer k8s-secret-token"])
        #expect(status.status == 200)
        #expect((status.json["store"] as? [String: Any])?["kind"] as? String == "redis")
        #expect((status.json["store"] as? [String: Any])?["healthy"] as? Bool == true)
    }
}

import Foundation
import Glibc
import Testing

private let systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
private let manifests = ["rampart.yaml", "rampart-single.yaml"]
private let deployCheck = Binaries.repoRoot + "/Tests/Fixtures/k8s_check.py"

private func read(_ relative: String) throws -> String {
    try String(contentsOfFile: Binaries.repoRoot + "/" + relative, encoding: .utf8)
}

/// The gateway.json of a manifest's ConfigMap, cut out of the YAML block scalar.
private func configMapGatewayJSON(_ manifest: String) throws -> String {
    let yaml = try read("deploy/kubernetes/" + manifest)
    let lines = yaml.components(separatedBy: "\n")
    guard let start = lines.firstIndex(where: { $0.contains("gateway.json: |") }) else { throw TestFailure("no gateway.json in \(manifest)'s ConfigMap") }
    return lines[(start + 1)...].prefix { $0.hasPrefix("    ") }.map { String($0.dropFirst(4)) }.joined(separator: "\n")
}

/// `rampart check` with no secret in its environment: a config is checkable on any machine.
private func check(_ path: String) throws -> ChildProcess {
    let p = try ChildProcess("/usr/bin/env", ["-u", "RAMPART_ADMIN_TOKEN", Binaries.rampart, "check", "--config", path])
    _ = try p.waitForExit()
    return p
}

/// The version `rampart version` prints ("rampart 0.1.0"): the image tag the deploy files use.
private func rampartVersion() throws -> String {
    let p = try ChildProcess(Binaries.rampart, ["version"])
    _ = try p.waitForExit()
    let line = try #require(p.lines.first { $0.hasPrefix("rampart ") }, "\(p.lines)")
    return String(line.dropFirst("rampart ".count)).trimmingCharacters(in: .whitespaces)
}

@Suite(.serialized) struct DeployTests {
    /// The configs shipped in deploy/ are valid for the rampart that ships with them, checked
    /// without the admin token or the credential file they name at run time.
    @Test func shippedConfigsPassCheck() throws {
        for config in ["deploy/compose-gateway.json", "deploy/systemd-gateway.json"] {
            let p = try check(Binaries.repoRoot + "/" + config)
            #expect(p.process.terminationStatus == 0, "\(config): \(p.lines)")
        }
        for manifest in manifests {
            let path = NSTemporaryDirectory() + "k8s-gateway-\(UUID().uuidString).json"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try configMapGatewayJSON(manifest).write(toFile: path, atomically: true, encoding: .utf8)
            let k8s = try check(path)
            #expect(k8s.process.terminationStatus == 0, "\(manifest): \(k8s.lines)")
            #expect(k8s.lines.contains { $0.contains("RAMPART_ADMIN_TOKEN") }, "check lists the env var serve needs: \(k8s.lines)")
        }
    }

    /// The manifests parse as YAML, every name they refer to exists, and they carry what ops rely
    /// on: 3 replicas on Redis with probes on the health paths; or one replica of the memory store
    /// whose store.dir is the persistent volume. No Secret is applied from them (the token is
    /// created out of band), the admin listener stays on the pod's loopback with no container
    /// port, metrics are on their own port, annotated for Prometheus and admitted by a
    /// NetworkPolicy only from the monitoring namespace, the grace period covers the drain, and
    /// the image carries the release's version.
    @Test func kubernetesManifestsParseAndReferOnlyToWhatExists() throws {
        let version = try rampartVersion()
        let multi = try runPython(deployCheck, [Binaries.repoRoot + "/deploy/kubernetes/rampart.yaml"])
        #expect(multi.0 == 0, "\(multi.1)")
        for kind in ["'ConfigMap'", "'Deployment'", "'NetworkPolicy'", "'PodDisruptionBudget'", "'StatefulSet'"] { #expect(multi.1.contains(kind), "\(multi.1)") }
        #expect(!multi.1.contains("'Secret'"), "no placeholder Secret may overwrite the real token: \(multi.1)")
        #expect(multi.1.contains("Deployment rampart replicas=3 readiness=/_rampart/readyz liveness=/_rampart/healthz"), "\(multi.1)")
        #expect(multi.1.contains("image=registry.example.com/rampart:\(version) grace=30 drain=20 metrics=9902 admin=127.0.0.1:9901"), "\(multi.1)")
        #expect(multi.1.contains("NetworkPolicy rampart http from anywhere"), "\(multi.1)")
        #expect(multi.1.contains("NetworkPolicy rampart metrics from namespace monitoring"), "\(multi.1)")
        let redisConfig = try configMapGatewayJSON("rampart.yaml")
        #expect(redisConfig.contains(#""kind": "redis""#))
        #expect(redisConfig.contains(#""url": "http://app:3000""#), "the upstream is the Service the docs name")
        #expect(try read("deploy/kubernetes/rampart.yaml").contains(#""--appendonly", "yes""#), "Redis holds the journal: it must persist every write")

        let single = try runPython(deployCheck, [Binaries.repoRoot + "/deploy/kubernetes/rampart-single.yaml"])
        #expect(single.0 == 0, "\(single.1)")
        #expect(!single.1.contains("'Secret'"), "\(single.1)")
        #expect(single.1.contains("StatefulSet rampart-single replicas=1 readiness=/_rampart/readyz liveness=/_rampart/healthz"), "\(single.1)")
        #expect(single.1.contains("image=registry.example.com/rampart:\(version) grace=30 drain=20 metrics=9902 admin=127.0.0.1:9901"), "\(single.1)")
        #expect(single.1.contains("NetworkPolicy rampart-single metrics from namespace monitoring"), "\(single.1)")
        let memoryConfig = try configMapGatewayJSON("rampart-single.yaml")
        #expect(memoryConfig.contains(#""store": {"kind": "memory", "dir": "/var/lib/rampart"}"#))
        #expect(single.1.contains("state:/var/lib/rampart"), "store.dir is the claim's mount: \(single.1)")

        // Each manifest says how to build the image it names and how to create its Secret.
        for manifest in manifests {
            let text = try read("deploy/kubernetes/" + manifest)
            #expect(text.contains("docker build -f deploy/Dockerfile -t registry.example.com/rampart:\(version) ."), "\(manifest)")
            #expect(text.contains(#"kubectl create secret generic rampart-secrets --from-literal=RAMPART_ADMIN_TOKEN="$(openssl rand -hex 32)""#), "\(manifest)")
        }
    }

    /// The checker is not a rubber stamp: the manifest this change replaced (a Secret holding
    /// `change-me`, the admin API on 0.0.0.0 with a container port, `:latest`, no metrics
    /// listener, no NetworkPolicy) and a grace period shorter than the drain are refused.
    @Test func deployCheckRefusesWhatOpsWouldReject() throws {
        let old = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: rampart-config}
        data:
          gateway.json: |
            {"server": {"listen": "0.0.0.0:8080", "drain_delay": "5s", "drain_timeout_ms": 15000},
             "admin": {"listen": "0.0.0.0:9901", "token_env": "RAMPART_ADMIN_TOKEN"}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: rampart-secrets}
        stringData: {RAMPART_ADMIN_TOKEN: change-me}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: rampart}
        spec:
          selector: {matchLabels: {app: rampart}}
          template:
            metadata: {labels: {app: rampart}}
            spec:
              terminationGracePeriodSeconds: 20
              containers:
                - name: rampart
                  image: rampart:latest
                  ports: [{name: http, containerPort: 8080}, {name: admin, containerPort: 9901}]
                  envFrom: [{secretRef: {name: rampart-secrets}}]
                  volumeMounts: [{name: config, mountPath: /etc/rampart}]
              volumes: [{name: config, configMap: {name: rampart-config}}]
        """
        let path = NSTemporaryDirectory() + "old-manifest-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try old.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try runPython(deployCheck, [path])
        #expect(r.0 == 1, "\(r.1)")
        for complaint in ["Secret rampart-secrets: applied with literal data", "admin.listen 0.0.0.0:9901 is not loopback",
                          "declares a container port for the admin listener", "image rampart:latest has no version tag",
                          "admin.metrics_listen is not set", "no NetworkPolicy selects its pods",
                          "terminationGracePeriodSeconds 20 < drain_delay + drain_timeout_ms (20 s) + 5 s"] {
            #expect(r.1.contains(complaint), "\(complaint): \(r.1)")
        }
    }

    /// compose.yaml parses as YAML; the admin API and metrics are published on the host's
    /// loopback only; the token is a required variable, not a placeholder; stop_grace_period
    /// covers the drain; the upstream and the store name compose services (`app`, `redis`).
    @Test func composeFileKeepsAdminOnLoopbackAndNamesItsServices() throws {
        let r = try runPython(deployCheck, ["--compose", Binaries.repoRoot + "/deploy/compose.yaml"])
        #expect(r.0 == 0, "\(r.1)")
        #expect(r.1.contains("services ['app', 'rampart', 'redis']"), "\(r.1)")
        #expect(r.1.contains("rampart ports=*:8080,127.0.0.1:9901,127.0.0.1:9902 grace=30 drain=20 metrics=9902"), "\(r.1)")
        #expect(r.1.contains("upstreams=http://app:3000"), "\(r.1)")
        #expect(try read("deploy/compose.yaml").contains("${RAMPART_ADMIN_TOKEN:?"))
    }

    /// The names, build command and secret handling the deploy files use are the ones the docs
    /// give: one upstream name (`app`), one image tag, no placeholder token.
    @Test func docsAgreeWithTheDeployFiles() throws {
        let version = try rampartVersion()
        let ops = try read("docs/operations.md")
        let readme = try read("README.md")
        let deploying = try #require(readme.components(separatedBy: "\n## Deploying\n").dropFirst().first?
            .components(separatedBy: "\n## ").first, "README has a Deploying section")
        for (name, text) in [("docs/operations.md", ops), ("README Deploying", deploying)] {
            #expect(text.contains("docker build -f deploy/Dockerfile -t registry.example.com/rampart:\(version) ."), "\(name)")
            #expect(text.contains("http://app:3000"), "\(name) names the upstream as the manifests do")
            #expect(!text.contains("demo-app:3000") && !text.contains("change-me"), "\(name)")
            #expect(text.contains("metrics_listen") && text.contains("LoadCredential"), "\(name)")
        }
        #expect(ops.contains(#"kubectl create secret generic rampart-secrets --from-literal=RAMPART_ADMIN_TOKEN="$(openssl rand -hex 32)""#))
        #expect(ops.contains("/run/credentials/rampart.service/admin-token"))
        for file in ["deploy/compose.yaml", "deploy/compose-gateway.json", "deploy/kubernetes/rampart.yaml", "deploy/kubernetes/rampart-single.yaml"] {
            let text = try read(file)
            #expect(!text.contains("change-me") && !text.contains("demo-app:3000") && !text.contains("\n  demo-app:"), "\(file)")
        }
        // The Dockerfile: multi-stage, a pinned toolchain and runtime, a numeric non-root user.
        let dockerfile = try read("deploy/Dockerfile")
        let froms = dockerfile.components(separatedBy: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(froms.count == 2 && froms.allSatisfy { !$0.contains(":latest") } && froms.last == "FROM debian:bookworm-slim", "\(froms)")
        #expect(dockerfile.contains("\nUSER 10001:10001\n"))
        #expect(dockerfile.contains("docker build -f deploy/Dockerfile -t registry.example.com/rampart:\(version) ."))
    }

    /// The unit verifies (with ExecStart pointed at the built binary, so nothing is excused), its
    /// token reaches the dynamic user as a credential that the shipped config names, TimeoutStopSec
    /// covers the drain, and the hardening holds (systemd's own exposure score).
    @Test func systemdUnitVerifies() throws {
        let analyze = try #require(systemdAnalyze, "systemd-analyze is missing: `make test` installs systemd (TEST_PACKAGES)")
        let r = try runPython(deployCheck, ["--systemd", Binaries.repoRoot + "/deploy/rampart.service", Binaries.repoRoot + "/deploy/systemd-gateway.json"])
        #expect(r.0 == 0, "\(r.1)")
        #expect(r.1.contains("rampart.service credentials=admin-token token_file=/run/credentials/rampart.service/admin-token grace=30 drain=20"), "\(r.1)")
        let unit = try read("deploy/rampart.service")
        #expect(unit.contains("\nLoadCredential=admin-token:/etc/rampart/admin-token\n"))

        // The credentials directory is named after the unit: verify it under its real name.
        let dir = NSTemporaryDirectory() + "unit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try unit.replacingOccurrences(of: "/usr/local/bin/rampart", with: Binaries.rampart)
            .write(toFile: dir + "/rampart.service", atomically: true, encoding: .utf8)
        let verify = try ChildProcess(analyze, ["verify", dir + "/rampart.service"])
        #expect(try verify.waitForExit() == 0, "\(verify.lines)")
        #expect(!verify.lines.contains { $0.contains("rampart.service") }, "\(verify.lines)")

        let security = try ChildProcess(analyze, ["security", "--offline=yes", "--no-pager", dir + "/rampart.service"])
        _ = try security.waitForExit()
        let score = security.lines.lazy.compactMap { line -> Double? in
            guard let r = line.range(of: "exposure level for rampart.service: ") else { return nil }
            return Double(line[r.upperBound...].prefix { $0.isNumber || $0 == "." })
        }.first
        #expect(score != nil && score! <= 2.0, "systemd-analyze security: \(security.lines.suffix(3))")
    }

    /// The Dockerfile's steps without a Docker engine: build the release binary with the static
    /// Swift runtime, install it into a fresh root, and run it as the image does — an unprivileged
    /// user, the ConfigMap's gateway.json (addresses pointed at local peers), the HEALTHCHECK's curl.
    /// Every library it links is in the runtime stage's apt line (or Debian's base), and Prometheus
    /// scrapes the metrics listener without a token while the admin API stays behind it.
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
        // Each library it names directly comes from a package the runtime stage installs, or from
        // debian:bookworm-slim's essential set (libc6, libgcc-s1).
        let readelf = try ChildProcess("/usr/bin/env", ["readelf", "-d", binary])
        #expect(try readelf.waitForExit() == 0, "\(readelf.lines)")
        let needed = readelf.lines.filter { $0.contains("(NEEDED)") }.compactMap { $0.split(separator: "[").last?.split(separator: "]").first.map(String.init) }
        let packageOf = ["libcurl.so.4": "libcurl4", "libssl.so.3": "libssl3", "libcrypto.so.3": "libssl3", "libxml2.so.2": "libxml2", "libnghttp2.so.14": "libnghttp2-14", "libstdc++.so.6": "libstdc++6",
                         "libc.so.6": "", "libm.so.6": "", "libpthread.so.0": "", "libdl.so.2": "", "librt.so.1": "", "libutil.so.1": "",
                         "libgcc_s.so.1": "", "ld-linux-x86-64.so.2": "", "ld-linux-aarch64.so.1": "", "libz.so.1": ""]
        let dockerfile = try read("deploy/Dockerfile")
        let runtimeInstall = try #require(dockerfile.components(separatedBy: "FROM debian:bookworm-slim").last?
            .components(separatedBy: "\n").first { $0.contains("apt-get install") })
        #expect(!needed.isEmpty)
        for lib in needed {
            let package = try #require(packageOf[lib], "\(lib): unknown library; add its package to deploy/Dockerfile's runtime stage and to this table")
            #expect(package.isEmpty || runtimeInstall.contains(" \(package) ") || runtimeInstall.hasSuffix(" \(package)"),
                    "\(lib) comes from \(package), which the runtime stage does not install: \(runtimeInstall)")
        }
        #expect(runtimeInstall.contains(" ca-certificates "), "https:// upstreams need the CA bundle")

        let redis = try RedisServer()
        let app = try DemoApp()
        let workdir = root + "/var/lib/rampart"
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/etc/rampart", withIntermediateDirectories: true)
        let metricsPort = freePort()   // not :0 as well: admin.listen and metrics_listen must differ
        let config = try configMapGatewayJSON("rampart.yaml")
            .replacingOccurrences(of: "0.0.0.0:8080", with: "127.0.0.1:0").replacingOccurrences(of: "127.0.0.1:9901", with: "127.0.0.1:0")
            .replacingOccurrences(of: "0.0.0.0:9902", with: "127.0.0.1:\(metricsPort)")
            .replacingOccurrences(of: "redis://rampart-redis:6379/0", with: "redis://127.0.0.1:\(redis.port)/0")
            .replacingOccurrences(of: "http://app:3000", with: app.url)
            .replacingOccurrences(of: #""dir": "/var/lib/rampart""#, with: #""dir": "\#(workdir)""#)
        try config.write(toFile: root + "/etc/rampart/gateway.json", atomically: true, encoding: .utf8)

        // USER 10001:10001 when we may switch users; otherwise as ourselves.
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
        #expect(try HTTPClient.request(port: adminPort, path: "/admin/status").status == 401, "the admin API wants the Secret's token")

        // What the prometheus.io annotations point at: /metrics on 9902, no token; nothing else there.
        let scrape = try HTTPClient.request(port: metricsPort, path: "/metrics")
        #expect(scrape.status == 200 && scrape.text.contains("rampart_requests_total"), "\(scrape.status) \(scrape.text.prefix(200))")
        #expect(try HTTPClient.request(port: metricsPort, path: "/admin/status").status == 404)
        #expect(try HTTPClient.request(port: metricsPort, method: "POST", path: "/admin/reload").status == 404)
    }
}

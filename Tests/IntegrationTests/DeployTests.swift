import Foundation
import Testing

private let systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite(.serialized) struct DeployTests {
    /// The configs shipped in deploy/ are valid for the rampart that ships with them.
    @Test func shippedConfigsPassCheck() throws {
        let root = Binaries.repoRoot
        let compose = try ChildProcess(Binaries.rampart, ["check", "--config", root + "/deploy/compose-gateway.json"],
                                       environment: ["RAMPART_ADMIN_TOKEN": "x"])
        #expect(try compose.waitForExit() == 0, "\(compose.lines)")

        // The Kubernetes ConfigMap's gateway.json, cut out of the manifest.
        let yaml = try String(contentsOfFile: root + "/deploy/kubernetes/rampart.yaml", encoding: .utf8)
        let lines = yaml.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.contains("gateway.json: |") }) else { throw TestFailure("no gateway.json in the ConfigMap") }
        let json = lines[(start + 1)...].prefix { $0.hasPrefix("    ") }.map { String($0.dropFirst(4)) }.joined(separator: "\n")
        let path = NSTemporaryDirectory() + "k8s-gateway-\(UUID().uuidString).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let k8s = try ChildProcess(Binaries.rampart, ["check", "--config", path], environment: ["RAMPART_ADMIN_TOKEN": "x"])
        #expect(try k8s.waitForExit() == 0, "\(k8s.lines)")
    }

    /// The manifests parse as YAML and carry what ops rely on: 3 replicas, probes on the health paths.
    @Test func kubernetesManifestsParse() throws {
        let script = """
        import sys, yaml
        docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
        kinds = sorted(d['kind'] for d in docs)
        dep = next(d for d in docs if d['kind'] == 'Deployment')
        c = dep['spec']['template']['spec']['containers'][0]
        print(kinds, dep['spec']['replicas'], c['readinessProbe']['httpGet']['path'], c['livenessProbe']['httpGet']['path'])
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let venvPython = Binaries.repoRoot + "/.venv/bin/python3"
        p.arguments = [FileManager.default.isExecutableFile(atPath: venvPython) ? venvPython : "python3", "-c", script,
                       Binaries.repoRoot + "/deploy/kubernetes/rampart.yaml"]
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("'ConfigMap'") && text.contains("'PodDisruptionBudget'") && text.contains("'Secret'") && text.contains("'StatefulSet'"))
        #expect(text.contains(" 3 /_rampart/readyz /_rampart/healthz"), "\(text)")
    }

    @Test(.enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed here (no systemd in this container)"))
    func systemdUnitVerifies() throws {
        let p = try ChildProcess(systemdAnalyze!, ["verify", Binaries.repoRoot + "/deploy/rampart.service"])
        let status = try p.waitForExit()
        let complaints = p.lines.filter { $0.contains("rampart.service") && !$0.contains("Command /usr/local/bin/rampart is not executable") }
        #expect(status == 0 || complaints.isEmpty, "\(p.lines)")
    }
}

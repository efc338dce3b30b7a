import RampartHTTP
import RampartLoop
import RampartTransport
import CCurl
import COpenSSL
import Glibc

/// The `process_*` family every Prometheus client library exports (same names and units, so
/// stock dashboards and alerts work) and `rampart_build_info`, read from /proc at scrape time.
package enum ProcessMetrics {
    package static func render(startedAtUnix: Double) -> String {
        var out = ""
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            // Fields after "(comm)": state is field 3, utime 14, stime 15, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 22, let utime = Double(fields[11]), let stime = Double(fields[12]), let vsize = Double(fields[20]),
               let rssPages = Double(fields[21]) {
                out += family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", (utime + stime) / ticks)
                out += family("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", rssPages * Double(sysconf(Int32(_SC_PAGESIZE))))
                out += family("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", vsize)
            }
        }
        out += family("process_open_fds", "Number of open file descriptors.", "gauge", Double(openDescriptors()))
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            out += family("process_max_fds", "Maximum number of open file descriptors.", "gauge", Double(limit.rlim_cur))
        }
        out += family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", startedAtUnix)
        out += "# HELP rampart_build_info The running build: Rampart's version and the libcurl and OpenSSL it links.\n"
        out += "# TYPE rampart_build_info gauge\n"
        out += "rampart_build_info{version=\"\(RampartVersion.version)\",libcurl=\"\(label(libcurlVersion))\",openssl=\"\(label(opensslVersion))\"} 1\n"
        return out
    }

    /// "libcurl/7.88.1 OpenSSL/3.0.17 ..." → "7.88.1"; "OpenSSL 3.0.17 1 Jul 2025" → "3.0.17".
    static let libcurlVersion: String = {
        let full = String(cString: rampart_curl_version())
        return String(full.split(separator: " ").first?.split(separator: "/").last ?? Substring(full))
    }()
    static let opensslVersion: String = {
        let words = String(cString: rampart_openssl_version()).split(separator: " ")
        return words.count > 1 ? String(words[1]) : words.first.map(String.init) ?? ""
    }()

    private static func family(_ name: String, _ help: String, _ type: String, _ value: Double) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(JSONText.number(value))\n"
    }

    private static func label(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: " ")
    }

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? String(decoding: bytes[0..<n], as: UTF8.self) : nil
    }

    private static func openDescriptors() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let dot = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] == 0x2E }
            if !dot { count += 1 }
        }
        return max(0, count - 1)   // the directory stream's own descriptor
    }
}

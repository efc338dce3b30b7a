/// The version `rampart version`, /admin/status and `rampart_build_info` report.
public enum RampartVersion {
    public static let version = "0.1.0"
}

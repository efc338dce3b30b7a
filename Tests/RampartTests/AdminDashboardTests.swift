import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

/// The dashboard page is static: its CSP must name the exact inline script and style, and nothing
/// in it may need what that CSP refuses.
@Suite struct AdminDashboardTests {
    @Test func cspHashesMatchTheInlineScriptAndStyle() throws {
        let page = String(decoding: AdminDashboard.page, as: UTF8.self)
        let script = try #require(page.range(of: "<script>").flatMap { open in page.range(of: "</script>").map { page[open.upperBound..<$0.lowerBound] } })
        let style = try #require(page.range(of: "<style>").flatMap { open in page.range(of: "</style>").map { page[open.upperBound..<$0.lowerBound] } })
        #expect(AdminDashboard.contentSecurityPolicy.contains("script-src '\(AdminDashboard.sourceHash(String(script)))'"))
        #expect(AdminDashboard.contentSecurityPolicy.contains("style-src '\(AdminDashboard.sourceHash(String(style)))'"))
        // A known vector (RFC 6234 "abc"), base64 as CSP wants it.
        #expect(AdminDashboard.sourceHash("abc") == "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        #expect(!AdminDashboard.contentSecurityPolicy.contains("unsafe"))
    }

    @Test func thePageWritesDataAsTextOnly() {
        let script = AdminDashboardScript.source
        #expect(!script.contains("innerHTML") && !script.contains("outerHTML") && !script.contains("insertAdjacentHTML"))
        #expect(!script.contains("eval(") && !script.contains("new Function"))
        #expect(!script.contains("</script"), "the inline script cannot end early")
        #expect(!AdminDashboardPage.style.contains("</style") && !AdminDashboardPage.style.contains("@import") && !AdminDashboardPage.style.contains("url("))
    }
}

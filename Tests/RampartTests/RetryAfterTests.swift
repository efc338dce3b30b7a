import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// `Retry-After` parsing: delay-seconds and the three HTTP-date forms of RFC 9110.
@Suite struct RetryAfterTests {
    static let sunday = 784_111_777.0   // Sun, 06 Nov 1994 08:49:37 GMT, the RFC's own example

    @Test(arguments: ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"])
    func allThreeDateForms(text: String) {
        #expect(RetryAfter.httpDate(text) == Self.sunday)
    }

    @Test func datesAcrossLeapYearsAndCenturies() {
        #expect(RetryAfter.httpDate("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(RetryAfter.httpDate("Tue, 29 Feb 2000 00:00:00 GMT") == 951_782_400)
        #expect(RetryAfter.httpDate("Tue, 14 Nov 2023 22:13:20 GMT") == 1_700_000_000)
        #expect(RetryAfter.httpDate("Tuesday, 14-Nov-23 22:13:20 GMT") == 1_700_000_000)
    }

    @Test(arguments: ["", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
                      "Sun, 06 Nov 1994 25:00:00 GMT", "Sun, 06 Nov 1994 08:49 GMT", "tomorrow", "1.5", "-1"])
    func rejectsNonsense(text: String) {
        #expect(RetryAfter.seconds(text, now: 0) == nil)
    }

    @Test func secondsAreRelativeAndDatesAreAbsolute() {
        #expect(RetryAfter.seconds("120", now: 5) == 120)
        #expect(RetryAfter.seconds("0", now: 5) == 0)
        #expect(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:47 GMT", now: Self.sunday) == 10)
        #expect(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:37 GMT", now: Self.sunday + 60) == 0)
    }
}

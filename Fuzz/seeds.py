#!/usr/bin/env python3
"""Writes the fuzz seed corpora in Fuzz/seeds/<target>/ from the byte strings of the unit tests.

Run from the repository root after changing the tests: python3 Fuzz/seeds.py. String literals
(plain, raw #"..."#, multi-line) are read from the named test files, literals joined by `+` are
joined, those with interpolation are skipped; each target keeps the ones shaped like its input.
HTTP test strings are Latin-1 (one byte per scalar, as the tests' latin1() reads them). Targets whose
input has a layout (a mode byte, a config prefix, two documents split by NUL) get that layout here,
as described in each Fuzz/<Target>/main.swift. The fenced-json seeds are hand-written and kept.
"""
import base64, glob, hashlib, hmac, json, os, re, shutil

T = "Tests/RampartHTTPTests/"
R = "Tests/RampartTests/"


def unescape(body):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c); i += 1; continue
        e = body[i + 1]
        if e == "u":
            j = body.index("}", i)
            out.append(chr(int(body[i + 3:j], 16))); i = j + 1; continue
        out.append({"0": "\0", "n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "\\": "\\"}[e]); i += 2
    return "".join(out)


def literals(path):
    """(text, joined-with-previous) for every string literal of a Swift file, in order."""
    src = open(path, encoding="utf-8").read()
    pat = re.compile(r'(#*)"""\n(.*?)\n([ \t]*)"""\1|(#+)"(.*?)"\4|"((?:[^"\\\n]|\\.)*)"', re.S)
    found, last_end = [], None
    for m in pat.finditer(src):
        joined = last_end is not None and re.fullmatch(r"\s*\+\s*", src[last_end:m.start()]) is not None
        last_end = m.end()
        if m.group(2) is not None:  # multi-line: strip the closing delimiter's indentation
            indent, raw = m.group(3), m.group(1) != ""
            text = "\n".join(l[len(indent):] if l.startswith(indent) else l for l in m.group(2).split("\n"))
            if ("\\" + m.group(1) + "(") in text: continue
            found.append((text if raw else unescape(text), joined))
        elif m.group(4) is not None:
            if "\\" + m.group(4) + "(" in m.group(5): continue
            found.append((m.group(5), joined))
        else:
            if "\\(" in m.group(6): continue
            found.append((unescape(m.group(6)), joined))
    out = []
    for text, joined in found:
        if joined and out: out[-1] += text
        else: out.append(text)
    return out


def strings(*files):
    return [s for f in files for s in literals(f)]


def latin1(s):
    return s.encode("latin-1") if all(ord(c) < 256 for c in s) else s.encode("utf-8")


def write(target, seeds):
    d = f"Fuzz/seeds/{target}"
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    seen = set()
    for s in seeds:
        if s in seen: continue
        seen.add(s)
        open(f"{d}/{hashlib.sha1(s).hexdigest()[:12]}", "wb").write(s)
    print(f"{target}: {len(seen)} seeds")


# request-head: every request line the request tests and the malformed-request fixture hold.
req = strings(T + "RequestParserTests.swift", T + "HTTP1ServerMachineTests.swift", T + "FuzzSmokeTests.swift")
req += [case["raw"] for case in json.load(open("Tests/Fixtures/malformed-requests.json"))]
write("request-head", [latin1(s) for s in req if re.match(r"(\r\n)*[!-~]+ [^ ]* ", s) or s.startswith("\r\n")])

# response-head: a method byte ("H": the request was a HEAD, anything else a GET), then a response.
resp = [s for s in strings(T + "ResponseHeadTests.swift", T + "HTTP1ClientMachineTests.swift") if s.startswith("HTTP/")]
write("response-head", [b"G" + latin1(s) for s in resp] + [b"H" + latin1(s) for s in resp if " 200 " in s])

# chunked: the chunked bodies of the chunked, server and client tests.
chunk = strings(T + "ChunkedTests.swift", T + "HTTP1ClientMachineTests.swift", T + "HTTP1ServerMachineTests.swift")
write("chunked", [latin1(s) for s in chunk if re.match(r"[0-9a-fA-F]+[;\r \t]", s)])

# sse: the event streams of the SSE tests and of the stream taps (usage, stream save).
sse = strings(T + "SSETests.swift", R + "UsageTapTests.swift", R + "StreamSaveTapTests.swift", R + "UsageTestSupport.swift")
write("sse", [s.encode("utf-8") for s in sse if re.search(r"(^|\n)(data|event|id|retry|:)", s) and "\n" in s + "\r"])

def ws_frame(opcode, payload, fin=True, rsv1=False, mask=b"\x12\x34\x56\x78"):
    """A WebSocket frame (masked when `mask` is given, as clients send), minimal length form."""
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    m = 0x80 if mask else 0
    n = len(payload)
    head += bytes([m | n]) if n < 126 else bytes([m | 126]) + n.to_bytes(2, "big") if n <= 0xFFFF else bytes([m | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    return head + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))


# websocket: a mode byte (1 client, 0 server; 2 RSV1 allowed; 4 capture text), a limit byte, frames.
ws = []
for mode, mask in ((1, b"\x12\x34\x56\x78"), (4, None), (7, b"\x0f\xf0\xaa\x55")):
    f = lambda op, p, **kw: ws_frame(op, p, mask=mask, **kw)
    ws += [bytes([mode, 200]) + f(1, b"hello") + f(9, b"ping") + f(8, b"\x03\xe8bye"),
           bytes([mode, 3]) + f(2, bytes(300), fin=False) + f(10, b"") + f(0, bytes(200)),
           bytes([mode, 0]) + f(1, b"{\"type\":\"response.done\"}") + f(1, b"x" * 130),
           bytes([mode, 255]) + f(1, b'{"type":', fin=False) + f(0, b'"session.created"}') + f(8, b""),
           bytes([mode, 255]) + f(1, b"z", rsv1=True) + f(0, b"z", rsv1=True)]
write("websocket", ws)

# h2-request: a flags byte (1: the HEADERS frame ended the stream), then name NUL value lines.
def h2(flags, *pairs):
    return bytes([flags]) + b"\n".join(n + b"\0" + v for n, v in pairs)
base = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/echo?q=1"), (b":authority", b"app.example")]
write("traceparent", [b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
                      b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"])
write("h2-request", [
    h2(1, *base, (b"accept", b"*/*"), (b"cookie", b"a=1"), (b"cookie", b"b=2")),
    h2(0, (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/upload"), (b":authority", b"x"), (b"content-length", b"12")),
    h2(0, (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/stream"), (b":authority", b"x"), (b"content-type", b"text/plain")),
    h2(0, (b":method", b"CONNECT"), (b":protocol", b"websocket"), (b":scheme", b"https"), (b":path", b"/ws"), (b":authority", b"x"),
       (b"sec-websocket-version", b"13"), (b"origin", b"https://x")),
    h2(1, *base, (b"x-evil", b"a\r\nX-Injected: 1")),
    h2(1, *base, (b"transfer-encoding", b"chunked")),
    h2(1, (b":method", b"OPTIONS"), (b":scheme", b"http"), (b":path", b"*"), (b":authority", b"x")),
    h2(1, *base, (b"Upper", b"x")),
])

# json: the configs (fixtures, gateway.json) and the JSON texts of the config and validation tests.
docs = [open(p, "rb").read() for p in ["gateway.json"] + sorted(glob.glob("Tests/Fixtures/configs/*.json"))]
texts = strings(R + "ConfigJSONTests.swift", R + "ValidationKeywordTests.swift", R + "ValidationDocumentTests.swift",
                R + "ValidationConfigTests.swift")
write("json", docs + [s.encode("utf-8") for s in texts if s.lstrip()[:1] in ('{', '[', '"') or s in ("true", "null", "-7e2")])

# resp: the replies of the RESP tests.
# Plus the cluster's replies: redirections and a CLUSTER SLOTS map (one master with a replica, one
# with an empty host).
cluster = [b"-MOVED 3999 127.0.0.1:6381\r\n", b"-ASK 16383 [::1]:7000\r\n", b"-MOVED 1 :7000\r\n",
           b"*2\r\n*4\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$2\r\nid\r\n"
           b"*3\r\n:5461\r\n:16383\r\n*3\r\n$0\r\n\r\n:7001\r\n$2\r\nid\r\n"]
write("resp", [s.encode("latin-1") for s in strings(R + "RESPTests.swift") if s[:1] in "+-:$*" and "\r\n" in s] + cluster)

# json-schema: schema NUL body, from the keyword tables (schema, value, message) and the documents.
pairs = []
for f in ["ValidationKeywordTests.swift", "ValidationFormatTests.swift", "ValidationTrimTests.swift", "ValidationDocumentTests.swift"]:
    for line in open(R + f, encoding="utf-8"):
        if "\\(" in line or "\\#(" in line: continue
        lits = [t for t in re.findall(r'#"(.*?)"#|"((?:[^"\\]|\\.)*)"', line)]
        vals = [a if a else unescape(b) for a, b in lits]
        if line.strip().startswith("(") and len(vals) >= 2 and vals[0].startswith("{"):
            pairs.append((vals[0], vals[1]))
doc_lits = strings(R + "ValidationDocumentTests.swift")
order = next(s for s in doc_lits if '"additionalProperties": false, "required": ["customer"' in s)
pairs += [(order, s) for s in doc_lits if s.lstrip().startswith("{") and '"customer"' in s and s != order]
pairs += [(order, "[]"), (order, "{}"), ('{"type": "object"}', "{" * 70 + "}" * 70), ("{}", "not json")]
write("json-schema", [a.encode() + b"\0" + b.encode() for a, b in pairs])


# truncation: 4 config bytes (format, budget, chars per token, image tokens), then the body.
def msg(role, content): return '{"role":"%s","content":"%s"}' % (role, content)
def blocks(role, *b): return '{"role":"%s","content":[%s]}' % (role, ",".join(b))
def text(t): return '{"type":"text","text":"%s"}' % t
image = '{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo"}}'
tool_use = blocks("assistant", '{"type":"tool_use","id":"t1","name":"search","input":{"q":"x"}}')
def tool_result(t): return blocks("user", '{"type":"tool_result","tool_use_id":"t1","content":"%s"}' % t)
tool_calls = '{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}'
def tool(t): return '{"role":"tool","tool_call_id":"c1","content":"%s"}' % t
def body(ms, system=None):
    head = '{"system":%s,"messages":[' % system if system else '{"model":"m","messages":['
    return head + ",".join(ms) + '],"max_tokens":10}'
conversations = [
    (0, body([msg("system", "be brief"), msg("user", "aaaa"), msg("assistant", "bbbb"), msg("user", "cccc")])),
    (0, body([msg("user", "hi"), tool_calls, tool("result one"), tool("two"), msg("user", "and now")])),
    (0, body([msg("developer", "rules"), msg("user", "x" * 40), msg("assistant", "y" * 40), msg("user", "z")])),
    (1, body([msg("user", "aaaa"), msg("assistant", "bbbb"), msg("user", "cccc")], system='"sys prompt"')),
    (1, body([blocks("user", text("look"), image), tool_use, tool_result("found"), msg("user", "ok")],
             system='[{"type":"text","text":"sys"}]')),
    (1, body([msg("assistant", "orphan"), msg("user", "q\\u00e9\\ud83d\\ude00"), msg("assistant", "a")])),
    (2, '{"a":[{"messages":[%s]}]}' % ",".join([msg("user", "one"), msg("assistant", "two"), msg("user", "three")])),
    (3, "[%s]" % ",".join([msg("user", "one"), msg("assistant", "two"), msg("user", "three")])),
    (0, '{\n  "messages": [\n    %s,\n    %s,\n    %s\n  ]\n}' % (msg("user", "pretty"), msg("assistant", "printed"), msg("user", "body"))),
    (0, '{"messages":"not an array"}'),
    (0, '{"messages":[1, "two", [3], null]}'),
]
write("truncation", [bytes([fmt, budget, 1, 4]) + b.encode() for fmt, b in conversations for budget in (3, 12, 40)])

# jwt: a mode byte, then 0: a token as sent; 1: header JSON NUL claims JSON, which the target signs
# with its HMAC secret; 2: Authorization value NUL Cookie header NUL cookie name.
SECRET = b"test-hmac-secret-0123456789abcdef"
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=")
def hs(header, claims, alg=hashlib.sha256):
    signing = b64(header.encode()) + b"." + b64(claims.encode())
    return signing + b"." + b64(hmac.new(SECRET, signing, alg).digest())
claims = '{"sub": "user-1", "iss": "https://auth.example.com", "aud": "app", "exp": 1700000600}'
headers = ['{"alg": "HS256", "typ": "JWT"}', '{"alg": "HS384"}', '{"alg": "HS512", "kid": "k1"}', '{"alg": "RS256"}',
           '{"alg": "ES256", "kid": "x"}', '{"alg": "none"}', '{"alg": "HS256", "crit": ["b64"]}', '{"alg": "HS256", "alg": "RS256"}']
claim_sets = [claims, '{"sub": 42, "iss": "https://auth.example.com", "aud": ["other", "app"]}',
              '{"sub": "u", "iss": "https://auth.example.com", "aud": "app", "nbf": 1700000100}',
              '{"sub": "u", "iss": "https://evil.example.com", "aud": "app"}', '{"sub": "", "aud": "app"}',
              '{"sub": "u", "sub": "v"}', '[1]', 'not json']
jwt = [b"\x01" + h.encode() + b"\0" + c.encode() for h in headers for c in claim_sets]
jwt += [b"\x00" + hs(headers[0], claims), b"\x00" + hs(headers[1], claims, hashlib.sha384),
        b"\x00" + hs(headers[3], claims), b"\x00" + b"e30.e30.", b"\x00" + b"a.b", b"\x00" + b"eyJhbGciOiJIUzI1NiJ9.e30.AAAA"]
jwt += [b"\x02" + a + b"\0" + c + b"\0" + n for a, c, n in [
    (b"Bearer " + hs(headers[0], claims), b"", b""), (b"bearer   abc.def.ghi ", b"", b"session"),
    (b"Basic dXNlcjpwdw==", b"a=1; session=\"abc.def.ghi\"; b=2", b"session"), (b"", b"session=x.y.z", b"session")]]
write("jwt", jwt)


# h2-connection: what a client sends after the preface. Frames built by hand (9-byte header, then
# the payload); header blocks are HPACK literals without indexing, so every name and value is on
# the wire for the fuzzer to change.
def frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload
def hpack(fields):
    out = b""
    for n, v in fields:
        out += b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v
    return out
def request(stream, method=b"GET", path=b"/echo", extra=(), end=True):
    block = hpack([(b":method", method), (b":scheme", b"http"), (b":authority", b"127.0.0.1"), (b":path", path)] + list(extra))
    return frame(1, 0x4 | (0x1 if end else 0), stream, block)
settings = frame(4, 0, 0, (3).to_bytes(2, "big") + (100).to_bytes(4, "big"))
h2 = [settings + request(1),
      settings + request(1) + request(3, path=b"/a?b=c") + request(5, extra=[(b"x-user-id", b"u1")]),
      settings + request(1, method=b"POST", extra=[(b"content-type", b"application/json")], end=False) + frame(0, 0x1, 1, b'{"a":1}'),
      settings + request(1, end=False) + frame(3, 0, 1, (8).to_bytes(4, "big")),                      # RST_STREAM CANCEL
      settings + frame(6, 0, 0, b"12345678") + frame(8, 0, 0, (65535).to_bytes(4, "big")),            # PING, WINDOW_UPDATE
      settings + frame(1, 0x1, 1, hpack([(b":method", b"GET")])[:5]) + frame(9, 0x4, 1, hpack([(b":path", b"/")])),  # CONTINUATION
      settings + request(1, extra=[(b"te", b"trailers"), (b"cookie", b"a=1"), (b"cookie", b"b=2")]),
      settings + request(1, method=b"CONNECT", path=b"/ws", extra=[(b":protocol", b"websocket"), (b"sec-websocket-version", b"13")], end=False),
      settings + frame(7, 0, 0, (0).to_bytes(8, "big")),                                              # GOAWAY
      settings + request(1, extra=[(b"Upper", b"x")]) + request(3, extra=[(b"connection", b"close")])]
write("h2-connection", h2)

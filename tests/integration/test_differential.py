"""
test_differential.py — runs every tests/integration/diff/*.txt script against
tessera-server and Debian's redis-server (a fresh pair per script) and
compares the replies byte for byte.

Owns: the script format, the RESP2/RESP3 reply reader used to cut exactly one
reply off each connection, and the mismatch report.
Must not: decide that a difference is acceptable. Intentional differences are
written down in diff/INTENTIONAL.md and expressed in the scripts as `#ignore`
with a comment naming that file; nothing here filters replies on its own.

Script format (one command per line, redis-cli syntax):
    SET k "hello world"       arguments split like redis-cli does: "..." with
                              \\xHH \\n \\r \\t \\b \\a \\" \\\\ escapes, '...' literal
                              (only \\' is an escape), anything else up to a blank
    # text                    a comment (a '#' followed by a blank, or alone)
    #resp3 / #resp2           send HELLO 3 / HELLO 2 on both connections (the
                              HELLO reply itself is not compared)
    #sort                     the next reply is compared as a sorted multiset,
                              at every nesting level (KEYS, SMEMBERS, SCAN ...)
    #ignore  [why]            run the next command on both, do not compare
    #inline                   send the next line as an inline command (the text
                              as written, plus CRLF) instead of a multibulk
    #noreply                  the next command must produce no reply on either
                              side (CLIENT REPLY OFF/SKIP); checked for 0.3 s
    #sleep SECONDS            sleep, e.g. `#sleep 1.1`
    #reconnect                close both connections and open new ones
    #args ARG ...             (before the first command) extra arguments for
                              both servers, e.g. `#args --enable-debug-command yes`
Anything after a directive word is a comment (except for #sleep and #args).
A connection the server closed (QUIT, protocol error) is reopened, in RESP2,
before the next command.

Environment:
    TESSERA_DIFF_SCRIPTS=a,b      run only these scripts (names without .txt)
    TESSERA_DIFF_REPORT=FILE      append every mismatch to FILE as JSON lines
    TESSERA_DIFF_TRACE=1          print every command and both replies (-s)
"""
import json
import os
import select
import socket
import time
from pathlib import Path

import pytest

DIFF_DIR = Path(__file__).resolve().parent / "diff"
REPLY_TIMEOUT = 3.0
MAX_TIMEOUTS = 3       # consecutive timeouts before a script is abandoned
MAX_SHOWN = 60         # mismatches shown in one failure message
CLOSE_WAIT = 0.3       # how long to wait for a close after a closing command
TRACE = bool(os.environ.get("TESSERA_DIFF_TRACE"))


# ------------------------------------------------------------ RESP reader

class ConnClosed(Exception):
    """The peer closed the connection; .partial holds the bytes of an
    unfinished reply, if any."""

    def __init__(self, partial=b""):
        super().__init__("connection closed")
        self.partial = partial


class ReplyTimeout(Exception):
    def __init__(self, partial=b""):
        super().__init__("no complete reply in time")
        self.partial = partial


class Node:
    """One parsed reply: .t is the type byte as a str ('+', '*', '%' ...),
    .raw the exact bytes of the reply (attributes included), .kids the
    elements of an aggregate (a map's as k1, v1, k2, v2 ...)."""

    __slots__ = ("t", "raw", "kids")

    def __init__(self, t, raw, kids=None):
        self.t = t
        self.raw = raw
        self.kids = kids


AGGREGATES = {"*": 1, "~": 1, ">": 1, "%": 2, "|": 2}
LINE_TYPES = set("+-:_#,(")
BLOB_TYPES = set("$!=")


class RespConn:
    """A client connection that sends raw bytes and reads exactly one reply
    at a time (RESP2 and RESP3, nested aggregates, attributes, nulls)."""

    def __init__(self, port, timeout=REPLY_TIMEOUT):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = bytearray()
        self.pos = 0
        self.closed = False
        self.deadline = 0.0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True

    # -- buffered reading with one deadline per reply
    def _fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ReplyTimeout()
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise ReplyTimeout()
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.closed = True
            raise ConnClosed()
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
            raise ValueError("bulk not terminated by CRLF")
        self.pos += n + 2
        return data

    def _node(self):
        start = self.pos
        line = self._line()
        if not line:
            raise ValueError("empty reply line")
        t = chr(line[0])
        if t in LINE_TYPES:
            return Node(t, bytes(self.buf[start:self.pos]))
        if t in BLOB_TYPES:
            n = int(line[1:])
            if n >= 0:
                self._exact(n)
            return Node(t, bytes(self.buf[start:self.pos]))
        if t in AGGREGATES:
            n = int(line[1:])
            kids = []
            for _ in range(max(n, 0) * AGGREGATES[t]):
                kids.append(self._node())
            node = Node(t, bytes(self.buf[start:self.pos]), kids)
            if t == "|":  # attribute: metadata, then the real reply
                real = self._node()
                return Node(real.t, bytes(self.buf[start:self.pos]), real.kids)
            return node
        raise ValueError("unknown reply type byte %r" % t)

    def read_reply(self, timeout=None):
        """Exactly one reply as a Node. Raises ConnClosed / ReplyTimeout
        (with the partial bytes) or ValueError on a malformed reply."""
        self.deadline = time.monotonic() + (timeout or self.timeout)
        start = self.pos
        try:
            node = self._node()
        except (ConnClosed, ReplyTimeout) as e:
            partial = bytes(self.buf[start:])
            self.pos = start
            e.partial = partial
            raise
        del self.buf[:self.pos]
        self.pos = 0
        return node

    def closed_by_peer(self, wait):
        """True when the server closes the connection within `wait` seconds
        (no other data may arrive meanwhile: it is kept for the next read)."""
        end = time.monotonic() + wait
        while not self.closed:
            left = end - time.monotonic()
            r, _, _ = select.select([self.sock], [], [], max(left, 0))
            if not r:
                return False
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.closed = True
                break
            self.buf += chunk
        return self.closed

    def pending(self, wait):
        """Bytes that arrive within `wait` seconds (used for #noreply)."""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            self.sock.settimeout(max(end - time.monotonic(), 0.001))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.closed = True
                break
            self.buf += chunk
        data = bytes(self.buf[self.pos:])
        del self.buf[:]
        self.pos = 0
        return data


def canonical(node):
    """Bytes that are equal for two replies that are equal as multisets at
    every aggregate level (the #sort comparison)."""
    if node.kids is None:
        return node.raw
    if node.t in ("%", "|"):
        pairs = [canonical(node.kids[i]) + canonical(node.kids[i + 1])
                 for i in range(0, len(node.kids), 2)]
        items = sorted(pairs)
    else:
        items = sorted(canonical(k) for k in node.kids)
    return ("%s%d\r\n" % (node.t, len(items))).encode() + b"".join(items)


def encode_command(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# ------------------------------------------------------------ script parsing

class ScriptError(Exception):
    pass


def split_args(line):
    """Split a line into byte arguments the way redis-cli does."""
    args = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        if line[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise ScriptError("unbalanced double quote")
                c = line[i]
                if c == "\\" and i + 1 < n:
                    e = line[i + 1]
                    if e == "x" and i + 3 < n and _ishex(line[i + 2:i + 4]):
                        cur.append(int(line[i + 2:i + 4], 16))
                        i += 4
                        continue
                    cur += {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b",
                            "a": b"\a"}.get(e, e.encode())
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                cur += c.encode()
                i += 1
        elif line[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ScriptError("unbalanced single quote")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur += b"'"
                    i += 2
                    continue
                if c == "'":
                    i += 1
                    break
                cur += c.encode()
                i += 1
        else:
            while i < n and not line[i].isspace():
                cur += line[i].encode()
                i += 1
            args.append(bytes(cur))
            continue
        if i < n and not line[i].isspace():
            raise ScriptError("closing quote must be followed by a blank")
        args.append(bytes(cur))


def _ishex(s):
    return len(s) == 2 and all(c in "0123456789abcdefABCDEF" for c in s)


DIRECTIVES = {"#resp3", "#resp2", "#sort", "#ignore", "#inline", "#noreply",
              "#sleep", "#reconnect", "#args"}


class Step:
    __slots__ = ("lineno", "text", "kind", "payload", "mods", "args", "inline")

    def __init__(self, lineno, text, kind, payload=None, mods=(), args=None,
                 inline=False):
        self.args = args or []
        self.inline = inline
        self.lineno = lineno
        self.text = text
        self.kind = kind          # "cmd", "resp", "sleep", "reconnect"
        self.payload = payload    # bytes to send / protocol / seconds
        self.mods = set(mods)     # "sort", "ignore", "noreply"


def parse_script(path):
    """Returns (server_args, steps)."""
    steps, server_args, mods, inline = [], [], set(), False
    seen_cmd = False
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            word = s.split(None, 1)[0]
            rest = s[len(word):].strip()
            if word == "#" or word.startswith("##"):
                continue
            if word not in DIRECTIVES:
                raise ScriptError("%s:%d: unknown directive %s" % (
                    path.name, lineno, word))
            if word in ("#sort", "#ignore", "#noreply"):
                mods.add(word[1:])
            elif word == "#inline":
                inline = True
            elif word in ("#resp3", "#resp2"):
                steps.append(Step(lineno, s, "resp", 3 if word == "#resp3" else 2))
            elif word == "#sleep":
                steps.append(Step(lineno, s, "sleep", float(rest.split()[0])))
            elif word == "#reconnect":
                steps.append(Step(lineno, s, "reconnect"))
            elif word == "#args":
                if seen_cmd:
                    raise ScriptError("%s:%d: #args after the first command" % (
                        path.name, lineno))
                server_args += [a.decode() for a in split_args(rest)]
            continue
        seen_cmd = True
        args = []
        if inline:
            payload = s.encode() + b"\r\n"
        else:
            try:
                args = split_args(s)
            except ScriptError as e:
                raise ScriptError("%s:%d: %s" % (path.name, lineno, e))
            payload = encode_command(args)
        steps.append(Step(lineno, s, "cmd", payload, mods, args, inline))
        inline = False
        mods = set()
    return server_args, steps


# ------------------------------------------------------------ running

def fmt_reply(r, limit=600):
    text = repr(r) if isinstance(r, bytes) else str(r)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


class Side:
    """One server and our connection to it."""

    def __init__(self, label, server):
        self.label = label
        self.server = server
        self.conn = None
        self.timeouts = 0

    def ensure(self):
        if self.conn is None or self.conn.closed:
            if self.conn is not None:
                self.conn.close()
            self.conn = RespConn(self.server.port)

    def reconnect(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.ensure()

    def request(self, step, noreply=False):
        """Send and read one reply. Returns (display_bytes_or_marker, node)."""
        self.ensure()
        self.conn.send(step.payload)
        if noreply:
            data = self.conn.pending(0.3)
            return (data if data else "<no reply>"), None
        try:
            node = self.conn.read_reply()
            self.timeouts = 0
        except ConnClosed as e:
            return "<connection closed; partial %r>" % e.partial, None
        except ReplyTimeout as e:
            self.timeouts += 1
            # The reply may still come; do not let it leak into the next one.
            self.conn.close()
            return "<no reply within %.1fs; partial %r>" % (
                REPLY_TIMEOUT, e.partial), None
        except ValueError as e:
            self.conn.close()
            return "<malformed reply: %s>" % e, None
        # A close right after the reply is part of the observable result.
        wait = CLOSE_WAIT if _may_close(step, node.raw) else 0.0
        if self.conn.closed_by_peer(wait):
            return node.raw + b" <then closed>", node
        return node.raw, node


def _may_close(step, reply):
    """Whether a server may close the connection after this reply: QUIT,
    SHUTDOWN, a CLIENT KILL that killed somebody, any protocol error. For
    those we wait CLOSE_WAIT seconds to see whether it does, and a close is
    part of the compared result."""
    if reply.startswith(b"-ERR Protocol"):
        return True
    words = [a.lower() for a in step.args[:2]]
    if words[:1] in ([b"quit"], [b"shutdown"]):
        return True
    return words == [b"client", b"kill"] and reply[:2] not in (b":0", b"-E")


def run_script(path, tess_srv, ref_srv):
    """Runs one script; returns the list of mismatch dicts."""
    _, steps = parse_script(path)
    sides = [Side("tessera", tess_srv), Side("redis", ref_srv)]
    mismatches = []
    for st in steps:
        if st.kind == "sleep":
            time.sleep(st.payload)
            continue
        if st.kind == "reconnect":
            for sd in sides:
                sd.reconnect()
            continue
        if st.kind == "resp":
            args = [b"HELLO", str(st.payload).encode()]
            hello = Step(st.lineno, st.text, "cmd", encode_command(args), (), args)
            for sd in sides:
                sd.request(hello)
            continue
        got = [sd.request(st, "noreply" in st.mods) for sd in sides]
        if TRACE:
            print("%s:%d: %s\n    tessera: %s\n    redis:   %s" % (
                path.name, st.lineno, st.text, fmt_reply(got[0][0], 200),
                fmt_reply(got[1][0], 200)))
        if "ignore" not in st.mods:
            a, b = got[0], got[1]
            if "sort" in st.mods and a[1] is not None and b[1] is not None:
                same = canonical(a[1]) == canonical(b[1])
            else:
                same = a[0] == b[0]
            if not same:
                mismatches.append({
                    "script": path.name, "line": st.lineno, "command": st.text,
                    "tessera": fmt_reply(a[0]), "redis": fmt_reply(b[0]),
                    "sorted": "sort" in st.mods})
        if not tess_srv.alive():
            mismatches.append({
                "script": path.name, "line": st.lineno, "command": st.text,
                "tessera": "<process exited with status %s>" % tess_srv.proc.poll(),
                "redis": "", "sorted": False})
            break
        if sides[0].timeouts >= MAX_TIMEOUTS:
            mismatches.append({
                "script": path.name, "line": st.lineno, "command": st.text,
                "tessera": "<%d timeouts in a row: script abandoned>" % MAX_TIMEOUTS,
                "redis": "", "sorted": False})
            break
    for sd in sides:
        if sd.conn is not None:
            sd.conn.close()
    return mismatches


def _scripts():
    names = sorted(DIFF_DIR.glob("*.txt"))
    only = os.environ.get("TESSERA_DIFF_SCRIPTS")
    if only:
        want = set(only.split(","))
        names = [p for p in names if p.stem in want]
    return names


@pytest.mark.parametrize("script", _scripts(), ids=lambda p: p.stem)
def test_differential(script, tessera_factory, redis_ref_factory):
    server_args, _ = parse_script(script)
    ref = redis_ref_factory(*server_args)
    tess = tessera_factory(*server_args)
    mismatches = run_script(script, tess, ref)
    report = os.environ.get("TESSERA_DIFF_REPORT")
    if report and mismatches:
        with open(report, "a") as f:
            for m in mismatches:
                f.write(json.dumps(m) + "\n")
    if mismatches:
        lines = ["%d line(s) of %s differ (tessera vs redis-server):" % (
            len(mismatches), script.name)]
        for m in mismatches[:MAX_SHOWN]:
            lines.append("%s:%d: %s%s" % (m["script"], m["line"], m["command"],
                                          "   [#sort]" if m["sorted"] else ""))
            lines.append("    tessera: %s" % m["tessera"])
            lines.append("    redis:   %s" % m["redis"])
        if len(mismatches) > MAX_SHOWN:
            lines.append("... and %d more" % (len(mismatches) - MAX_SHOWN))
        pytest.fail("\n".join(lines), pytrace=False)


# ------------------------------------------------------------ self-checks

def test_split_args_like_redis_cli():
    assert split_args('SET k "a b"') == [b"SET", b"k", b"a b"]
    assert split_args(r'SET k "\x00\xff\n"') == [b"SET", b"k", b"\x00\xff\n"]
    assert split_args(r"SET k 'it\'s'") == [b"SET", b"k", b"it's"]
    assert split_args('SET k ""') == [b"SET", b"k", b""]
    with pytest.raises(ScriptError):
        split_args('SET "k')
    with pytest.raises(ScriptError):
        split_args('SET "k"x')


class _FakeSock:
    def __init__(self, data):
        self.data = data

    def settimeout(self, t):
        pass

    def recv(self, n):
        chunk, self.data = self.data[:3], self.data[3:]  # tiny reads on purpose
        return chunk

    def close(self):
        pass


def _reader(data):
    c = RespConn.__new__(RespConn)
    c.sock, c.buf, c.pos, c.closed, c.timeout = _FakeSock(data), bytearray(), 0, False, 1
    return c


def test_reply_reader_resp2_and_resp3():
    stream = (b"+OK\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n*1\r\n:5\r\n"
              b"%2\r\n+a\r\n~2\r\n,1.5\r\n_\r\n+b\r\n#t\r\n"
              b"=8\r\ntxt:abcd\r\n!3\r\nERR\r\n(123\r\n"
              b"|1\r\n+k\r\n+v\r\n:1\r\n>2\r\n+m\r\n$0\r\n\r\n")
    c = _reader(stream)
    got = []
    while True:
        try:
            got.append(c.read_reply())
        except ConnClosed as e:
            assert e.partial == b""
            break
    assert [n.t for n in got] == ["+", "$", "*", "*", "%", "=", "!", "(", ":", ">"]
    assert got[3].raw == b"*2\r\n$1\r\na\r\n*1\r\n:5\r\n"
    assert got[8].raw == b"|1\r\n+k\r\n+v\r\n:1\r\n"
    assert b"".join(n.raw for n in got) == stream


def test_canonical_sorts_nested():
    a = _reader(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n").read_reply()
    b = _reader(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n").read_reply()
    c = _reader(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\na\r\n").read_reply()
    assert canonical(a) == canonical(b) != canonical(c)


def test_every_ignore_is_documented():
    """Each `#ignore` names an entry of diff/INTENTIONAL.md that exists."""
    import re
    doc = (DIFF_DIR / "INTENTIONAL.md").read_text()
    headings = set(re.findall(r"^## (.+)$", doc, re.M))
    for path in sorted(DIFF_DIR.glob("*.txt")):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip().split(None, 1)[:1] != ["#ignore"]:
                continue
            m = re.search(r'INTENTIONAL\.md "([^"]+)"', line)
            assert m, "%s:%d: #ignore without an INTENTIONAL.md reference" % (
                path.name, lineno)
            assert m.group(1) in headings, "%s:%d: no entry %r in INTENTIONAL.md" % (
                path.name, lineno, m.group(1))


def test_scripts_parse():
    for path in sorted(DIFF_DIR.glob("*.txt")):
        parse_script(path)

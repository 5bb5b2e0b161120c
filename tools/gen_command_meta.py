#!/usr/bin/python3
"""
gen_command_meta.py — writes src/cmd/cmd_meta.c, the COMMAND INFO / COMMAND
DOCS metadata of Redis 7.0, captured from a real redis-server.

Owns: talking to a reference redis-server that it starts itself on a free
loopback port (and stops, by pid, whatever happens), turning its RESP3
replies into the compact typed notation that src/cmd/cmd_command.c walks, and
checking that notation round-trips to the exact RESP2 and RESP3 bytes the
server sent.
Must not: touch anything but 127.0.0.1, or edit any other file.

Usage:
  tools/gen_command_meta.py                 names from src/cmd/*.c rows
  tools/gen_command_meta.py --all           every command redis-server has
  tools/gen_command_meta.py get set config  only these (plus their subcommands)
Options: --redis-server PATH (default: redis-server on $PATH), --out PATH.

Which commands: every top-level Redis command whose name appears as
`.name = "..."` in src/cmd/*.c (or on the command line) is captured, with
those of its subcommands whose names also appear there. Extra entries are
harmless: the server uses the meta of the rows it has and ignores the rest.

The notation (one C string per reply tree; see cmd_meta.h):
  *N  array of N      %N  map of N pairs     ~N  set of N
  :I  integer         _   null               ^   "the subcommands here"
  $L"bytes  bulk of L bytes      +L"bytes  status of L bytes
  $@K / +@K  bulk / status holding word K of cmd_meta_words[]
Counts and integers end where the next token's type character starts.
"""
import argparse
import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEADLINE = 10.0


# ------------------------------------------------------------ RESP3 reader

class Reader:
    """Blocking RESP reader over a socket; returns typed trees:
    ('*'|'~'|'>', [items]), ('%', [(k, v)...]), ('$'|'+'|'-'|'=', bytes),
    (':', int), ('_', None), ('#', bool), (',', bytes)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.pos = 0

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self._fill()

    def _bytes(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n + 2
        return data

    def read(self):
        line = self._line()
        t, rest = chr(line[0]), line[1:]
        if t in "$=":
            n = int(rest)
            return (t, None) if n < 0 else (t, self._bytes(n))
        if t in "+-,":
            return (t, rest)
        if t == ":":
            return (t, int(rest))
        if t == "_":
            return (t, None)
        if t == "#":
            return (t, rest == b"t")
        if t in "*~>":
            n = int(rest)
            return (t, None) if n < 0 else (t, [self.read() for _ in range(n)])
        if t == "%":
            n = int(rest)
            return (t, [(self.read(), self.read()) for _ in range(n)])
        raise ValueError("unexpected RESP type %r" % t)


def encode(tree, resp):
    """Encode a typed tree the way Redis does for protocol `resp`."""
    t, v = tree
    if t == "$":
        return b"$-1\r\n" if v is None else b"$%d\r\n%s\r\n" % (len(v), v)
    if t == "+":
        return b"+" + v + b"\r\n"
    if t == ":":
        return b":%d\r\n" % v
    if t == "_":
        return b"_\r\n" if resp == 3 else b"$-1\r\n"
    if t in "*~":
        ch = t.encode() if resp == 3 else b"*"
        return ch + b"%d\r\n" % len(v) + b"".join(encode(x, resp) for x in v)
    if t == "%":
        head = b"%%%d\r\n" % len(v) if resp == 3 else b"*%d\r\n" % (2 * len(v))
        return head + b"".join(encode(k, resp) + encode(x, resp) for k, x in v)
    raise ValueError("cannot encode %r" % t)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.rd = Reader(self.sock)

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.rd.read()

    def call_bytes(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        # Read one whole reply as bytes by parsing it with a private reader
        # that records what it consumed.
        rec = _Recorder(self.sock)
        Reader.read(rec)
        return rec.consumed()


class _Recorder(Reader):
    def __init__(self, sock):
        super().__init__(sock)
        self.all = b""

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("server closed the connection")
        self.all += chunk
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0

    def consumed(self):
        extra = len(self.buf) - self.pos
        if extra:
            raise RuntimeError("pipelining surprise: %d extra bytes" % extra)
        return self.all


# ------------------------------------------------------------ the server

def free_port():
    import random
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        port = rng.randint(21000, 29999)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


class RefServer:
    def __init__(self, binary):
        self.binary = binary
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="gen-meta-")

    def __enter__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--dir", self.dir, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL)
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited with %s" % self.proc.returncode)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError("redis-server did not start within %.0fs" % DEADLINE)

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------------ the notation

SUBS_PLACEHOLDER = ("^", None)


class Words:
    """Frequent strings get an index into cmd_meta_words[]."""

    def __init__(self):
        self.count = collections.Counter()
        self.index = {}
        self.words = []

    def scan(self, tree):
        t, v = tree
        if t in "$+" and v is not None and len(v) >= 4:
            self.count[v] += 1
        elif t in "*~":
            for x in v:
                self.scan(x)
        elif t == "%":
            for k, x in v:
                self.scan(k)
                self.scan(x)

    def freeze(self, min_uses=4):
        ranked = sorted(self.count.items(), key=lambda wn: (-wn[1], wn[0]))
        best = [w for w, n in ranked if n >= min_uses]
        self.words = best
        self.index = {w: i for i, w in enumerate(best)}


def notate(tree, words):
    t, v = tree
    if t == "^":
        return "^"
    if t in "$+":
        if v is None:
            raise ValueError("null bulk in metadata")
        s = v.decode("latin-1")
        if v in words.index:
            return "%s@%d" % (t, words.index[v])
        return '%s%d"%s' % (t, len(v), s)
    if t == ":":
        return ":%d" % v
    if t == "_":
        return "_"
    if t in "*~":
        return "%s%d" % (t, len(v)) + "".join(notate(x, words) for x in v)
    if t == "%":
        return "%%%d" % len(v) + "".join(notate(k, words) + notate(x, words) for k, x in v)
    raise ValueError("type %r not supported in metadata" % t)


def parse_notation(s, words):
    """Inverse of notate() — the same walk cmd_command.c does, used to prove
    the generated data replays to the server's exact bytes."""
    pos = 0

    def num():
        nonlocal pos
        m = re.compile(r"-?\d+").match(s, pos)
        pos = m.end()
        return int(m.group())

    def node():
        nonlocal pos
        t = s[pos]
        pos += 1
        if t == "^":
            return SUBS_PLACEHOLDER
        if t in "$+":
            if s[pos] == "@":
                pos += 1
                return (t, words[num()])
            n = num()
            assert s[pos] == '"'
            pos += 1
            v = s[pos:pos + n].encode("latin-1")
            pos += n
            return (t, v)
        if t == ":":
            return (t, num())
        if t == "_":
            return (t, None)
        if t in "*~":
            n = num()
            return (t, [node() for _ in range(n)])
        if t == "%":
            n = num()
            return (t, [(node(), node()) for _ in range(n)])
        raise ValueError("bad notation at %d" % pos)

    tree = node()
    assert pos == len(s), "trailing notation"
    return tree


def expand(tree, subs):
    """Replace the placeholder by subs (a tree) — for round-trip checks."""
    t, v = tree
    if t == "^":
        return subs
    if t in "*~":
        return (t, [expand(x, subs) for x in v])
    if t == "%":
        return (t, [(expand(k, subs), expand(x, subs)) for k, x in v])
    return tree


# ------------------------------------------------------------ capture

def strip_info(entry):
    """COMMAND INFO entry → (tree with subcommands replaced, sub entries)."""
    t, v = entry
    assert t == "*" and len(v) == 10, entry
    subs = v[9]
    if subs[0] == "*" and subs[1]:
        return ("*", v[:9] + [SUBS_PLACEHOLDER]), subs[1]
    return entry, []


def strip_docs(doc):
    t, v = doc
    assert t == "%"
    out, subs = [], []
    for k, x in v:
        if k[1] == b"subcommands":
            out.append((k, SUBS_PLACEHOLDER))
            subs = x[1]
        else:
            out.append((k, x))
    return ("%", out), subs


def info_fields(entry):
    t, v = entry
    name = v[0][1].decode()
    arity, first, last, step = v[1][1], v[3][1], v[4][1], v[5][1]
    flags = " ".join(x[1].decode() for x in v[2][1])
    acl = " ".join(x[1].decode() for x in v[6][1])
    specs = []
    for spec in v[8][1]:
        specs.append(keyspec_fields(spec))
    return name, arity, first, last, step, flags, acl, specs


def mapget(tree, key):
    for k, x in tree[1]:
        if k[1] == key.encode():
            return x
    return None


def keyspec_fields(spec):
    flags = " ".join(x[1].decode() for x in mapget(spec, "flags")[1])
    bs = mapget(spec, "begin_search")
    bs_type = mapget(bs, "type")[1].decode()
    bs_spec = mapget(bs, "spec")
    kw, idx = None, 0
    if bs_type == "index":
        idx = mapget(bs_spec, "index")[1]
    elif bs_type == "keyword":
        kw = mapget(bs_spec, "keyword")[1].decode()
        idx = mapget(bs_spec, "startfrom")[1]
    fk = mapget(spec, "find_keys")
    fk_type = mapget(fk, "type")[1].decode()
    fk_spec = mapget(fk, "spec")
    a = b = c = 0
    if fk_type == "range":
        a, b, c = (mapget(fk_spec, n)[1] for n in ("lastkey", "keystep", "limit"))
    elif fk_type == "keynum":
        a, b, c = (mapget(fk_spec, n)[1] for n in ("keynumidx", "firstkey", "keystep"))
    return (flags, bs_type[0], idx, kw, fk_type[0], a, b, c)


def wanted_names(argv_names):
    if argv_names:
        return set(n.lower() for n in argv_names)
    names = set()
    for p in sorted((REPO / "src" / "cmd").glob("*.c")):
        if p.name == "cmd_meta.c":
            continue
        names.update(re.findall(r'\.name\s*=\s*"([^"]+)"', p.read_text()))
    return names


def capture(port, names, take_all, all_subs=False):
    """Returns {fullname: (info_tree, docs_tree, sub_fullnames)} plus checks."""
    c3 = Conn(port)
    c3.call("HELLO", "3")
    c2 = Conn(port)
    top = sorted(x[1].decode() for x in c3.call("COMMAND", "LIST")[1] if b"|" not in x[1])
    out = {}
    for name in top:
        if not take_all and name not in names:
            continue
        info = c3.call("COMMAND", "INFO", name)[1][0]
        docs = c3.call("COMMAND", "DOCS", name)[1][0][1]
        info_top, info_subs = strip_info(info)
        docs_top, docs_subs = strip_docs(docs)
        sub_docs = {k[1].decode(): x for k, x in docs_subs}
        keep = []
        for sub in info_subs:
            full = sub[1][0][1].decode()
            if take_all or all_subs or full.split("|", 1)[1] in names:
                out[full] = (sub, sub_docs[full], [])
                keep.append(full)
        out[name] = (info_top, docs_top, keep)
        # Round trip of the whole container as the server sent it.
        for resp, conn in ((3, c3), (2, c2)):
            raw_info = conn.call_bytes("COMMAND", "INFO", name)
            raw_docs = conn.call_bytes("COMMAND", "DOCS", name)
            want_info = encode(("*", [info]), resp)
            want_docs = encode(("%", [(("$", name.encode()), docs)]), resp)
            if raw_info != want_info or raw_docs != want_docs:
                raise SystemExit("re-encoding mismatch for %s (RESP%d)" % (name, resp))
        out[name] += (info_subs, docs_subs)
    return out


# ------------------------------------------------------------ C output

def c_string(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 32 <= o < 127:
            out.append(ch)
        else:
            out.append("\\%03o" % o)
    return '"' + "".join(out) + '"'


HEADER = """\
/*
 * cmd_meta.c — GENERATED by tools/gen_command_meta.py; do not edit by hand.
 *
 * Facts captured from {version} (`COMMAND INFO` and `COMMAND DOCS`
 * of each command under HELLO 3, {count} entries), by
 *     /usr/bin/python3 tools/gen_command_meta.py{args}
 * (with --all: every Redis command, so rows added later find their meta
 * without a new run; without it: the names in the src/cmd rows, rerun after
 * adding rows). The generator starts its own redis-server on a free loopback
 * port, and checks that every entry replays to the server's exact RESP2 and
 * RESP3 bytes.
 *
 * Owns: data only — the reply trees in the notation described in cmd_meta.h,
 * the legacy key range and flags (for the start-up check against the rows),
 * ACL categories (COMMAND LIST FILTERBY ACLCAT) and key specs (GETKEYS).
 * Must not: contain code. Invariant: cmd_meta_table is sorted by name (strcmp).
 */
#include "cmd_meta.h"

/* Generated data: long lines on purpose (one entry per line). */
/* clang-format off */
"""


def write_c(path, data, words, version, args):
    names = sorted(n for n in data)
    lines = [HEADER.format(version=version, count=len(names), args=args)]
    lines.append("const char *const cmd_meta_words[] = {\n")
    row = "   "
    for w in words.words:
        item = " %s," % c_string(w.decode("latin-1"))
        if len(row) + len(item) > 100:
            lines.append(row + "\n")
            row = "   "
        row += item
    lines.append(row + "\n")
    lines.append("};\nconst size_t cmd_meta_nwords = %d;\n\n" % len(words.words))
    lines.append("const cmd_meta_keyspec_t cmd_meta_specs[] = {\n")
    spec_off = {}
    n = 0
    for name in names:
        spec_off[name] = n
        for (fl, bs, idx, kw, fk, a, b, c) in info_fields(data[name][0])[7]:
            lines.append("    {%s, '%s', %d, %s, '%s', %d, %d, %d},\n" % (
                c_string(fl), bs, idx, c_string(kw) if kw else "NULL", fk, a, b, c))
            n += 1
    if n == 0:
        lines.append("    {0},\n")
    lines.append("};\n\nconst cmd_meta_t cmd_meta_table[] = {\n")
    for name in names:
        info, docs = data[name][0], data[name][1]
        _, arity, first, last, step, flags, acl, sp = info_fields(info)
        lines.append("    {%s, %d, %d, %d, %d, %s, %s, %d, %d,\n" % (
            c_string(name), arity, first, last, step, c_string(flags), c_string(acl),
            spec_off[name], len(sp)))
        lines.append("     %s,\n" % c_string(notate(info, words)))
        lines.append("     %s},\n" % c_string(notate(docs, words)))
    lines.append("};\nconst size_t cmd_meta_count = %d;\n" % len(names))
    lines.append("/* clang-format on */\n")
    Path(path).write_text("".join(lines))


def verify(data, words):
    """Every entry, read back through the notation, gives the same bytes."""
    for name, item in data.items():
        info, docs = item[0], item[1]
        for tree in (info, docs):
            back = parse_notation(notate(tree, words), words.words)
            if len(item) > 3:
                subs_info, subs_docs = item[3], item[4]
                full = expand(back, ("*", subs_info) if tree is info else ("%", subs_docs))
                orig = expand(tree, ("*", subs_info) if tree is info else ("%", subs_docs))
            else:
                full, orig = back, tree
            for resp in (2, 3):
                if encode(full, resp) != encode(orig, resp):
                    raise SystemExit("notation round trip failed for %s" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--out", default=str(REPO / "src" / "cmd" / "cmd_meta.c"))
    args = ap.parse_args()
    with RefServer(args.redis_server) as srv:
        conn = Conn(srv.port)
        info = conn.call("INFO", "server")[1].decode()
        version = "redis-server " + re.search(r"redis_version:(\S+)", info).group(1)
        names = wanted_names(args.names)
        data = capture(srv.port, names, args.all, all_subs=bool(args.names))
    words = Words()
    for item in data.values():
        words.scan(item[0])
        words.scan(item[1])
    words.freeze()
    verify(data, words)
    shown = (" --all" if args.all else "") + "".join(" " + n for n in args.names)
    write_c(args.out, data, words, version, shown)
    print("gen_command_meta: %d entries, %d words -> %s" % (len(data), len(words.words), args.out))


if __name__ == "__main__":
    main()

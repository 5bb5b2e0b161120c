"""
test_protocol.py — malformed and edge-case request bytes sent to tessera-server
and to Debian's redis-server on fresh connections; the raw replies must be
byte-identical, and so must the fact that the server closed the connection.

Owns: the catalogue of protocol edge cases (multibulk and bulk lengths,
inline quoting, oversized lines, pipelines that end in an error, requests
that are never completed).
Must not: parse replies (the bytes are compared as they are) or wait without
a deadline: every read ends after `IDLE` seconds of silence.

After each case both servers must still answer PING on a new connection.
"""
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ping, raw_ex

IDLE = 0.25
NOAUTH = b"-NOAUTH Authentication required.\r\n"

CASES = {
    # multibulk length
    "mbulk_len_3e9": b"*3000000000\r\n",
    "mbulk_len_not_number": b"*abc\r\n",
    "mbulk_len_plus_sign": b"*+1\r\n$4\r\nPING\r\n",
    "mbulk_len_space": b"* 1\r\n$4\r\nPING\r\n",
    "mbulk_len_negative_is_ignored": b"*-1\r\nPING\r\n",
    "mbulk_len_zero_is_ignored": b"*0\r\nPING\r\n",
    "mbulk_len_1m_waits": b"*1048576\r\n",
    "mbulk_count_line_too_long": b"*" + b"1" * 70000,
    # bulk length
    "dollar_first_is_inline": b"$2147483648\r\n",
    "bulk_len_2g": b"*1\r\n$2147483648\r\n",
    "bulk_len_over_proto_max": b"*1\r\n$536870913\r\n",
    "bulk_len_negative": b"*1\r\n$-1\r\n",
    "bulk_len_not_number": b"*1\r\n$abc\r\n",
    "bulk_len_plus_sign": b"*1\r\n$+4\r\nPING\r\n",
    "bulk_len_leading_zero": b"*1\r\n$04\r\nPING\r\n",
    "bulk_count_line_too_long": b"*1\r\n$" + b"1" * 70000,
    "expected_dollar": b"*1\r\nfoo\r\n",
    "expected_dollar_second_arg": b"*2\r\n$3\r\nGET\r\n:1\r\n",
    "bulk_not_crlf_terminated": b"*1\r\n$3\r\nfooXX",
    "bulk_shorter_than_declared": b"*2\r\n$3\r\nGET\r\n$1\r\nab\r\n",
    "incomplete_request_waits": b"*1\r\n$3\r\nfoo",
    "incomplete_header_waits": b"*2\r\n$3\r\nGET\r\n",
    # inline
    "inline_unbalanced_double_quote": b'SET "a b\r\n',
    "inline_unbalanced_single_quote": b"SET 'a b\r\n",
    "inline_quote_not_followed_by_space": b'SET "a"b c\r\n',
    "inline_too_long_no_newline": b"A" * 70000,
    "inline_1mb_with_newline": b"SET k " + b"A" * (1 << 20) + b"\r\n",
    "inline_empty_lines": b"\r\n\r\n\n\nPING\r\n",
    "inline_lf_only": b"PING\nPING\n",
    "inline_only_spaces": b"   \r\nPING\r\n",
    "inline_cr_inside": b"PING\rPING\r\n",
    "inline_nul_byte": b"PI\x00NG\r\n",
    "inline_hex_escapes": b'ECHO "\\x41\\x7a\\n"\r\n',
    # pipelines
    "pipeline_then_protocol_error": (b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\nfoo\r\n"
                                     b"*1\r\n$4\r\nPING\r\n"),
    "pipeline_mixed_inline_and_multibulk": (b"SET a 1\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n"
                                            b"GET a\r\n"),
    "pipeline_quit_then_more": b"PING\r\nQUIT\r\nPING\r\n",
    "pipeline_1000_pings": b"*1\r\n$4\r\nPING\r\n" * 1000,
    "request_split_in_middle_of_crlf": b"*1\r\n$4\r\nPING\r",
}

AUTH_CASES = {
    "unauth_mbulk_len_11": b"*11\r\n",
    "unauth_mbulk_len_10_waits": b"*10\r\n",
    "unauth_bulk_len_16385": b"*1\r\n$16385\r\n",
    "unauth_bulk_len_16384_waits": b"*1\r\n$16384\r\n",
    "unauth_command": b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    "unauth_inline": b"GET k\r\n",
}


def _compare(tess, ref, data, name):
    # Both servers at once: each read ends after IDLE seconds of silence.
    with ThreadPoolExecutor(2) as pool:
        t_fut = pool.submit(raw_ex, tess.port, data, IDLE)
        r_fut = pool.submit(raw_ex, ref.port, data, IDLE)
        (t_reply, t_closed), (r_reply, r_closed) = t_fut.result(), r_fut.result()
    assert (t_reply, t_closed) == (r_reply, r_closed), (
        "%s: tessera replied %r (closed=%s), redis-server replied %r (closed=%s)"
        % (name, t_reply[:300], t_closed, r_reply[:300], r_closed))
    for srv in (tess, ref):
        reply = ping(srv.port, timeout=5)
        assert reply in (b"+PONG\r\n", NOAUTH), "%s: %s stopped answering after %s" % (
            name, srv.name, name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_protocol_edge(name, tessera, redis_ref):
    _compare(tessera, redis_ref, CASES[name], name)


@pytest.mark.parametrize("name", sorted(AUTH_CASES))
def test_protocol_unauthenticated_limits(name, tessera_factory, redis_ref_factory):
    tess = tessera_factory("--requirepass", "secret")
    ref = redis_ref_factory("--requirepass", "secret")
    _compare(tess, ref, AUTH_CASES[name], name)


def test_protocol_bulk_over_configured_max(tessera_factory, redis_ref_factory):
    tess = tessera_factory("--proto-max-bulk-len", "1mb")
    ref = redis_ref_factory("--proto-max-bulk-len", "1mb")
    _compare(tess, ref, b"*1\r\n$1048577\r\n", "bulk over 1mb")
    _compare(tess, ref, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n"
             + b"x" * 1048576 + b"\r\n", "bulk of exactly 1mb")


def test_protocol_byte_by_byte(tessera, redis_ref):
    """A request trickled one byte per send parses like one sent at once."""
    import socket
    import time
    data = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nGET k\r\n"
    out = []
    for srv in (tessera, redis_ref):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            for i in range(len(data)):
                s.sendall(data[i:i + 1])
                time.sleep(0.001)
            buf = b""
            deadline = time.monotonic() + 5
            while buf.count(b"\r\n") < 3 and time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
            out.append(buf)
    assert out[0] == out[1] == b"+OK\r\n$5\r\nhello\r\n"

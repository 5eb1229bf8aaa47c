"""
A raw HTTP/2 client for vane's conformance tests: it writes frames as given (valid or
not) with Debian's python3-hyperframe and python3-hpack, bypassing any state machine,
and prints as JSON what vane answered: every frame it read, by type, until the
connection closed or the scenario's wait ended. Run: /usr/bin/python3 h2raw.py SCENARIO PORT.
"""
import json
import socket
import sys
import time

from hpack import Decoder, Encoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.enc = Encoder()
        self.dec = Decoder()
        self.dec.max_header_list_size = 1 << 20
        self.buf = b""
        self.frames = []
        # The peer closed (EOF or reset on read); a failed send alone does not say so yet.
        self.closed = False
        self.send_failed = False
        self.sock.sendall(PREFACE + SettingsFrame(0).serialize())

    def send(self, *frames):
        data = b"".join(f if isinstance(f, bytes) else f.serialize() for f in frames)
        try:
            self.sock.sendall(data)
        except OSError:
            self.send_failed = True

    def headers(self, stream, fields, end_stream=True, end_headers=True):
        f = HeadersFrame(stream)
        f.data = self.enc.encode(fields)
        f.flags.add("END_HEADERS") if end_headers else None
        if end_stream:
            f.flags.add("END_STREAM")
        return f

    def read_for(self, seconds, until=None):
        """Reads frames for up to `seconds`, or until `until(frames)` holds or the peer closes."""
        deadline = time.time() + seconds
        while time.time() < deadline and not self.closed:
            if until is not None and until(self.frames):
                return
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            self.buf += chunk
            self._parse()

    def _parse(self):
        while len(self.buf) >= 9:
            f, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
            if len(self.buf) < 9 + length:
                return
            f.parse_body(memoryview(self.buf[9 : 9 + length]))
            self.buf = self.buf[9 + length :]
            self.frames.append(f)

    def summary(self):
        out = []
        for f in self.frames:
            item = {"type": type(f).__name__.replace("Frame", "").lower(), "stream": f.stream_id}
            if isinstance(f, GoAwayFrame):
                item["code"] = f.error_code
                item["last"] = f.last_stream_id
                item["debug"] = f.additional_data.decode("latin1")
            if isinstance(f, RstStreamFrame):
                item["code"] = f.error_code
            if isinstance(f, DataFrame):
                item["bytes"] = len(f.data)
                item["end"] = "END_STREAM" in f.flags
            if isinstance(f, HeadersFrame):
                item["end"] = "END_STREAM" in f.flags
                status = [v for k, v in self.dec.decode(f.data) if k in (":status", b":status")]
                if status:
                    item["status"] = status[0].decode() if isinstance(status[0], bytes) else status[0]
            out.append(item)
        return {"frames": out, "closed": self.closed}


def request(c, stream, extra=(), end_stream=True, method="GET", path="/"):
    fields = [(":method", method), (":scheme", "http"), (":authority", "h2.test"), (":path", path)]
    fields += list(extra)
    c.send(c.headers(stream, fields, end_stream=end_stream))


def got_reset(stream):
    return lambda frames: any(isinstance(f, RstStreamFrame) and f.stream_id == stream for f in frames)


def got_goaway(frames):
    return any(isinstance(f, GoAwayFrame) for f in frames)


def until_closed(c, seconds):
    """After a GOAWAY: keep reading until the peer closes, as it must after a connection error."""
    c.read_for(seconds, got_goaway)
    c.read_for(2)


def malformed(port, extra, name):
    c = Conn(port)
    request(c, 1, extra)
    c.read_for(3, got_reset(1))
    return c


SCENARIOS = {
    "uppercase-name": lambda p: malformed(p, [("X-Upper", "1")], "uppercase"),
    "connection-header": lambda p: malformed(p, [("connection", "keep-alive")], "connection"),
    "transfer-encoding": lambda p: malformed(p, [("transfer-encoding", "chunked")], "te"),
    "te-not-trailers": lambda p: malformed(p, [("te", "gzip")], "te"),
    "crlf-in-value": lambda p: malformed(p, [("x-evil", "a\r\nx-injected: 1")], "crlf"),
    "pseudo-after-regular": lambda p: malformed(p, [("x-a", "1"), (":foo", "x")], "pseudo"),
    "host-differs": lambda p: malformed(p, [("host", "other.test")], "host"),
}


def content_length_short(port):
    c = Conn(port)
    request(c, 1, [("content-length", "10")], end_stream=False, method="POST")
    d = DataFrame(1)
    d.data = b"12345"
    d.flags.add("END_STREAM")
    c.send(d)
    c.read_for(3, got_reset(1))
    return c


def content_length_long(port):
    c = Conn(port)
    request(c, 1, [("content-length", "3")], end_stream=False, method="POST")
    d = DataFrame(1)
    d.data = b"12345"
    d.flags.add("END_STREAM")
    c.send(d)
    c.read_for(3, got_reset(1))
    return c


def rapid_reset(port):
    c = Conn(port)
    for i in range(1000):
        stream = 1 + 2 * i
        request(c, stream)
        c.send(RstStreamFrame(stream, error_code=8))
        if c.send_failed:
            break
    until_closed(c, 5)
    return c


def continuation_flood(port):
    c = Conn(port)
    fields = [(":method", "GET"), (":scheme", "http"), (":authority", "h2.test"), (":path", "/")]
    h = c.headers(1, fields, end_stream=True, end_headers=False)
    c.send(h)
    for _ in range(2000):
        cont = ContinuationFrame(1)
        cont.data = c.enc.encode([("x-flood", "y" * 100)])
        c.send(cont)
        if c.send_failed:
            break
    until_closed(c, 5)
    return c


def ping_flood(port):
    c = Conn(port)
    for i in range(5000):
        c.send(PingFrame(0, opaque_data=i.to_bytes(8, "big")))
        if c.send_failed:
            break
    until_closed(c, 5)
    return c


def bad_settings(port):
    c = Conn(port)
    c.send(SettingsFrame(0, settings={SettingsFrame.ENABLE_PUSH: 2}))
    until_closed(c, 3)
    return c


def window_zero(port):
    c = Conn(port)
    c.send(WindowUpdateFrame(0, window_increment=0))
    until_closed(c, 3)
    return c


def even_stream(port):
    c = Conn(port)
    request(c, 2)
    until_closed(c, 3)
    return c


def slow_reader(port):
    """Asks for a large body and reads nothing for 2 s: what vane sent must stay within the windows."""
    c = Conn(port)
    request(c, 1, path="/big")
    c.read_for(2)
    return c


def after_goaway(port):
    """One slow request in flight; the test stops vane meanwhile: the stream must still finish."""
    c = Conn(port)
    request(c, 1, path="/slow")
    c.read_for(8, lambda fs: any(isinstance(f, DataFrame) and "END_STREAM" in f.flags for f in fs))
    return c


def got_headers(stream):
    return lambda frames: any(isinstance(f, HeadersFrame) and f.stream_id == stream for f in frames)


def too_large(port):
    """A header list over 64 KiB: 431 on its stream, and the connection serves the next one."""
    c = Conn(port)
    fields = [(":method", "GET"), (":scheme", "http"), (":authority", "h2.test"), (":path", "/"), ("x-big", "a" * 70000)]
    block = c.enc.encode(fields)
    first = HeadersFrame(1)
    first.data = block[:16000]
    first.flags.add("END_STREAM")
    c.send(first)
    rest = block[16000:]
    while rest:
        cont = ContinuationFrame(1)
        cont.data = rest[:16000]
        rest = rest[16000:]
        if not rest:
            cont.flags.add("END_HEADERS")
        c.send(cont)
    c.read_for(3, got_headers(1))
    request(c, 3)
    c.read_for(3, got_headers(3))
    return c


def hpack_bomb(port):
    """One 4,000-byte field indexed once, then referenced 20 times in one block (80 KB decoded): 431."""
    c = Conn(port)
    big = ("x-bomb", "b" * 4000)
    request(c, 1, [big])
    c.read_for(3, got_headers(1))
    request(c, 3, [big] * 20)
    c.read_for(3, got_headers(3))
    request(c, 5)
    c.read_for(3, got_headers(5))
    return c


def many_streams(port):
    """101 slow requests at once: the one past SETTINGS_MAX_CONCURRENT_STREAMS (100) is refused."""
    c = Conn(port)
    for i in range(101):
        request(c, 1 + 2 * i, path="/slow")
    c.read_for(3, got_reset(201))
    return c


def settings_flood(port):
    c = Conn(port)
    for _ in range(5000):
        c.send(SettingsFrame(0))
        if c.send_failed:
            break
    until_closed(c, 5)
    return c


def slow_download(port, path, rate, limit=3600):
    """Reads `path` at `rate` bytes/s (at most 64 KiB per 50 ms round) by giving window back only at
    that pace, for at most `limit` seconds; returns the bytes read and the seconds it took."""
    c = Conn(port)
    request(c, 1, path=path)
    start = time.time()
    got = 0
    credited = 0
    done = False
    while not done and time.time() - start < limit:
        c.read_for(0.05)
        for f in c.frames:
            if isinstance(f, DataFrame):
                got += len(f.data)
                done = done or "END_STREAM" in f.flags
            if isinstance(f, (RstStreamFrame, GoAwayFrame)) or (isinstance(f, HeadersFrame) and "END_STREAM" in f.flags):
                done = True
        c.frames = []
        if c.closed:
            break
        # Give back what the pace allows so far: the sender can run no further ahead.
        allowed = int((time.time() - start) * rate)
        owed = min(got, allowed) - credited
        if owed > 0:
            c.send(WindowUpdateFrame(1, window_increment=owed), WindowUpdateFrame(0, window_increment=owed))
            credited += owed
    c.frames = [{"bytes": got, "seconds": round(time.time() - start, 2)}]
    return c


SCENARIOS.update(
    {
        "too-large": too_large,
        "hpack-bomb": hpack_bomb,
        "many-streams": many_streams,
        "settings-flood": settings_flood,
        "content-length-short": content_length_short,
        "content-length-long": content_length_long,
        "rapid-reset": rapid_reset,
        "continuation-flood": continuation_flood,
        "ping-flood": ping_flood,
        "bad-settings": bad_settings,
        "window-zero": window_zero,
        "even-stream": even_stream,
        "slow-reader": slow_reader,
        "after-goaway": after_goaway,
    }
)

if __name__ == "__main__":
    if sys.argv[1] == "slow-download":
        limit = float(sys.argv[5]) if len(sys.argv) > 5 else 3600
        conn = slow_download(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), limit)
        print(json.dumps(conn.frames[0]))
    else:
        conn = SCENARIOS[sys.argv[1]](int(sys.argv[2]))
        print(json.dumps(conn.summary()))

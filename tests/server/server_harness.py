"""Starts silica-server on a free port and talks to it with the standard library only.

Shared by the protocol test and the load test (tests/server/*.py)."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time


class Server:
    def __init__(self, binary, model, *args, launcher=()):
        """launcher: a command the server runs under (e.g. mpirun and its options)."""
        self.auth = {}  # headers metrics() sends (set it when the server has an API key)
        self.proc = subprocess.Popen([*launcher, binary, "--model", model, "--port", "0", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        m = re.search(r"listening on http://([\d.]+):(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("silica-server did not start: " + line + self.proc.stderr.read())
        self.host, self.port = m.group(1), int(m.group(2))
        self.stderr_lines = [line]
        deadline = time.time() + 60
        while time.time() < deadline:
            status, _ = self.get("/health")
            if status == 200:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("silica-server exited while loading: " + self.proc.stderr.read())
            time.sleep(0.05)
        raise RuntimeError("silica-server did not become ready")

    def connection(self, timeout=60):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """(status, body bytes); body may be a dict (sent as JSON), str or bytes."""
        own = conn is None
        conn = conn or self.connection()
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        if own:
            conn.close()
        return r.status, data

    def get(self, path, headers=None):
        try:
            return self.request("GET", path, headers=headers)
        except (ConnectionError, OSError):
            return 0, b""

    def post_json(self, path, body, headers=None, conn=None):
        status, data = self.request("POST", path, body, headers, conn)
        return status, json.loads(data) if data else None

    def stream(self, path, body, headers=None):
        """The parsed data events of an SSE response, and the raw text."""
        conn = self.connection()
        conn.request("POST", path, body=json.dumps(body), headers=headers or {})
        r = conn.getresponse()
        assert r.status == 200, (r.status, r.read())
        assert r.getheader("Content-Type").startswith("text/event-stream")
        text = r.read().decode()
        conn.close()
        events = []
        for block in text.split("\n\n"):
            for line in block.split("\n"):
                if line.startswith("data: "):
                    data = line[6:]
                    events.append(data if data == "[DONE]" else json.loads(data))
        return events, text

    def open_stream(self, body, headers=None, path="/v1/completions"):
        """Sends a streamed request on a raw socket and returns (socket, bytes so far) once the
        first SSE event has arrived (or the server closed the connection)."""
        sock = socket.create_connection((self.host, self.port))
        data = json.dumps(dict(body, stream=True)).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {len(data)}\r\n\r\n".encode() + data)
        received = b""
        while b"data: " not in received:
            part = sock.recv(4096)
            if not part:
                break
            received += part
        return sock, received

    def metrics(self, headers=None):
        status, data = self.get("/metrics", headers or self.auth)
        assert status == 200
        values = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.stderr_lines += self.proc.stderr.read().splitlines()
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_for(predicate, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()

#!/usr/bin/env python3
"""Reruns the attack probes of the reliability issue against a running KCL server
and prints what it answered, in figures.

    KCL_HTTP_MAX_IN_FLIGHT=32 kcl serve &      # a server with 32 request slots
    scripts/probe-attacks.py http://127.0.0.1:8080 ADMIN_PASSWORD [SERVER_PID]

Probes (each prints one line):
  1. 64 anonymous sockets trickle bodies to POST /api/auth/token; meanwhile 200
     authenticated GET /api/books: their status codes and p50/p99 latency.
  2. 40 concurrent wrong passwords for `admin`: how many 401 (password checked) and
     429 (refused before any check); the server's RSS before and after (with its pid).
  3. GET /login?next=/%09/evil.example and a CR/LF `next`, then a login: where the
     303 points, and that nothing answered 500.
  4. The headers of an HTML page: Content-Security-Policy, X-Content-Type-Options.
"""
import json
import socket
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request

BASE = sys.argv[1].rstrip("/")
PASSWORD = sys.argv[2]
PID = sys.argv[3] if len(sys.argv) > 3 else None
HOST, PORT = urllib.parse.urlsplit(BASE).hostname, urllib.parse.urlsplit(BASE).port or 80


def raw(request: bytes, timeout=20.0) -> bytes:
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        s.sendall(request)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except socket.timeout:
        return out
    finally:
        s.close()


def status_of(answer: bytes) -> int:
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def token() -> str:
    body = json.dumps({"username": "admin", "password": PASSWORD}).encode()
    req = urllib.request.Request(
        BASE + "/api/auth/token", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["access_token"]


def rss_mb():
    if not PID:
        return None
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def probe_trickle():
    t = token()
    held = []
    for _ in range(64):
        s = socket.create_connection((HOST, PORT), timeout=60)
        s.sendall(
            b"POST /api/auth/token HTTP/1.1\r\nHost: kcl\r\ncontent-type: application/json\r\n"
            b"content-length: 1000\r\n\r\n{"
        )
        held.append(s)
    time.sleep(0.5)
    codes, times = [], []
    get = (
        f"GET /api/books HTTP/1.1\r\nHost: kcl\r\nauthorization: Bearer {t}\r\n"
        "connection: close\r\n\r\n"
    ).encode()
    for _ in range(200):
        started = time.monotonic()
        codes.append(status_of(raw(get)))
        times.append(time.monotonic() - started)
    for s in held:
        s.close()
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    counts = {c: codes.count(c) for c in sorted(set(codes))}
    print(
        f"1. 64 trickling token requests; 200 authenticated GET /api/books: {counts}, "
        f"p50 {statistics.median(times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )


def probe_logins():
    before = rss_mb()
    body = json.dumps({"username": "admin", "password": "wrong-password"}).encode()
    codes = []
    lock = threading.Lock()

    def attempt():
        req = urllib.request.Request(
            BASE + "/api/auth/token", data=body, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                code = r.status
        except urllib.error.HTTPError as e:
            code = e.code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    time.sleep(1)
    after = rss_mb()
    counts = {c: codes.count(c) for c in sorted(set(codes))}
    rss = f"; RSS {before:.0f} -> {after:.0f} MB" if before is not None else ""
    print(f"2. 40 concurrent wrong passwords for admin: {counts}{rss}")


def probe_redirects():
    results = []
    for nxt in ["/%09/evil.example", "/%0d%0aSet-Cookie:x=1", "//evil.example", "/\\evil.example"]:
        page = raw(f"GET /login?next={nxt} HTTP/1.1\r\nHost: kcl\r\nconnection: close\r\n\r\n".encode())
        form = urllib.parse.urlencode({"username": "admin", "password": PASSWORD, "next": urllib.parse.unquote(nxt)})
        answer = raw(
            (
                f"POST /login HTTP/1.1\r\nHost: {HOST}:{PORT}\r\norigin: {BASE}\r\n"
                "content-type: application/x-www-form-urlencoded\r\n"
                f"content-length: {len(form)}\r\nconnection: close\r\n\r\n{form}"
            ).encode()
        )
        location = next(
            (
                line.split(b":", 1)[1].strip().decode(errors="replace")
                for line in answer.split(b"\r\n")
                if line.lower().startswith(b"location:")
            ),
            "",
        )
        results.append(f"{nxt} -> page {status_of(page)}, login {status_of(answer)} Location {location!r}")
    print("3. " + "; ".join(results))


def probe_headers():
    answer = raw(b"GET /login HTTP/1.1\r\nHost: kcl\r\nconnection: close\r\n\r\n")
    head = answer.split(b"\r\n\r\n", 1)[0].decode(errors="replace").lower()
    wanted = ["content-security-policy", "x-content-type-options", "x-frame-options"]
    found = {w: (w + ":") in head for w in wanted}
    csp = next((l for l in head.split("\r\n") if l.startswith("content-security-policy:")), "")
    print(f"4. /login headers: {found}; unsafe-inline in CSP: {'unsafe-inline' in csp}")


probe_trickle()
probe_redirects()
probe_headers()
probe_logins()  # last: it leaves `admin` throttled for 5 minutes

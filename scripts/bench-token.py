#!/usr/bin/env python3
"""Prints an HS256 admin bearer token for the benchmark scripts, signed with the
secret given (the server's KCL_AUTH_JWT_SECRET), valid for a day.

    python3 scripts/bench-token.py SECRET
"""
import base64
import hashlib
import hmac
import json
import sys
import time


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench", "role": "admin", "exp": int(time.time()) + 86400}).encode())
sig = b64(hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")

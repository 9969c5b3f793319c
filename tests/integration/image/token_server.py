#!/usr/bin/python3
"""A minimal token server for docker-registry's token authentication (test use only).

GET /token?service=S&scope=repository:NAME:ACTIONS[ ...] with HTTP basic credentials
TOKEN_USER:TOKEN_PASS returns {"token": JWT}: RS256, signed with TOKEN_KEY, the
certificate TOKEN_CERT in the x5c header (the registry checks it against its
rootcertbundle), access granted to every requested repository and action. Wrong or
missing credentials get 401. Every request is appended to TOKEN_LOG.
"""
import base64
import json
import os
import ssl
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt

KEY = open(os.environ["TOKEN_KEY"]).read()
CERT_DER = ssl.PEM_cert_to_DER_cert(open(os.environ["TOKEN_CERT"]).read())
USER, PASS = os.environ["TOKEN_USER"], os.environ["TOKEN_PASS"]
LOG = os.environ.get("TOKEN_LOG")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        auth = self.headers.get("Authorization", "")
        ok = False
        if auth.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                ok = (user, pw) == (USER, PASS)
            except Exception:
                ok = False
        if LOG:
            with open(LOG, "a") as f:
                f.write(json.dumps({"path": u.path, "scope": q.get("scope", []), "authed": ok}) + "\n")
        if u.path != "/token" or not ok:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
            return
        access = []
        for scope in " ".join(q.get("scope", [])).split():
            typ, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": "hull-test-issuer", "sub": USER, "aud": q.get("service", [""])[0], "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access}
        token = jwt.encode(claims, KEY, algorithm="RS256",
                           headers={"x5c": [base64.b64encode(CERT_DER).decode()]})
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(os.environ["TOKEN_PORT"])), Handler).serve_forever()

#!/usr/bin/env python3
"""The HTTP server of eventbus's HTTP tests: it plays the other side of an
API destination (a webhook, a SaaS API, an OAuth token endpoint) on
127.0.0.1, answers as the request path asks, and records every request it
receives as one JSON line, so a test can check afterwards what arrived,
when, how often and over which connection.

Python 3 standard library only.  Threaded, HTTP/1.1 with keep-alive,
bound to 127.0.0.1 and nothing else.  The behaviours, the control
endpoints and the log format are described in test/http/README.md.

    server.py --port P --log FILE [--port-file F] [--token-ttl S]
              [--client-id ID] [--client-secret SECRET] [--fast]

--port 0 picks a free port; the port in use is printed on stdout (one line)
and written to --port-file when given.  SIGTERM and SIGINT stop the server
at once (open connections are dropped); started again on the same port it
comes back (SO_REUSEADDR), appending to the same log.  In-memory state
(per-path counters, issued tokens) starts empty at every start.
"""

import argparse
import base64
import binascii
import http.server
import json
import os
import secrets
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse

LISTEN_HOST = "127.0.0.1"
# the longest any request is held: /never and /slow are bounded by it
MAX_HOLD_SECONDS = 120.0
# the longest body read from a request (a test never needs more)
MAX_BODY_BYTES = 64 * 1024 * 1024
# error bodies are this long, so a test can see where the sender cuts them
ERROR_BODY_BYTES = 300


class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.log_path = args.log
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
        self.fast = args.fast
        self.token_ttl = args.token_ttl
        self.client_id = args.client_id
        self.client_secret = args.client_secret
        self.reset()

    def reset(self):
        # callers hold the lock (or are the constructor)
        self.seen = {}          # path -> requests so far (retry-after, flaky)
        self.stats = {}         # path -> requests (for /_control/stats)
        self.tokens = {}        # access token -> (expiry epoch, scope)
        self.tokens_issued = 0
        self.tokens_revoked = 0
        self.requests = 0
        self.connections = 0

    def log(self, record):
        if self.log_file is None or self.fast:
            return
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=True)
        with self.lock:
            self.log_file.write(line + "\n")
            self.log_file.flush()

    def truncate_log(self):
        if self.log_file is None:
            return
        with self.lock:
            self.log_file.close()
            self.log_file = open(self.log_path, "w", encoding="utf-8")

    def count(self, path):
        """Count one request for PATH; returns how many came before it."""
        with self.lock:
            self.requests += 1
            self.stats[path] = self.stats.get(path, 0) + 1
            before = self.seen.get(path, 0)
            self.seen[path] = before + 1
            return before

    def issue_token(self, scope):
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = (time.time() + self.token_ttl, scope)
            self.tokens_issued += 1
            ttl = self.token_ttl
        return token, ttl

    def token_valid(self, token):
        with self.lock:
            entry = self.tokens.get(token)
            return entry is not None and entry[0] > time.time()

    def revoke_tokens(self):
        with self.lock:
            n = len(self.tokens)
            self.tokens.clear()
            self.tokens_revoked += n
            return n


STATE = None


def error_body(code, reason):
    head = "status %d %s " % (code, reason)
    filler = "0123456789" * (ERROR_BODY_BYTES // 10 + 1)
    return (head + filler)[:ERROR_BODY_BYTES]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "eventbus-test-http/1"
    # an idle keep-alive connection is closed after this long
    timeout = MAX_HOLD_SECONDS

    def setup(self):
        super().setup()
        self.conn_requests = 0
        with STATE.lock:
            STATE.connections += 1

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # quiet: the JSON log says it all
        pass

    # every method goes through handle_any
    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET
    do_CONNECT = do_TRACE = do_GET  # recorded, so a test can see they never come

    # ---- request body ----------------------------------------------
    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    break
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers, up to the empty line (bounded)
                    for _ in range(100):
                        t = self.rfile.readline(8192)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)  # CRLF after the chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    # ---- answers ---------------------------------------------------
    def answer(self, code, body=b"", ctype="text/plain; charset=utf-8", headers=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if code in (204, 304) or 100 <= code < 200:
            body = b""
        else:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    def answer_json(self, code, obj, headers=None):
        self.answer(code, json.dumps(obj) + "\n", "application/json", headers)

    # ---- dispatch --------------------------------------------------
    def handle_any(self):
        received = time.time()
        self.conn_requests += 1
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.answer(400, "bad request body\n")
            return
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = url.query
        parts = [urllib.parse.unquote(p) for p in path.split("/")[1:]]

        if parts and parts[0] == "_control":
            self.control(parts[1:], query)
            return

        before = STATE.count(path)
        plan = self.plan(parts, path, query, body, before)
        code = plan[0]
        record = {
            "time": received,
            "method": self.command,
            "path": path,
            "query": query,
            "headers": self.header_dict(),
            "body": body.decode("utf-8", errors="replace"),
            # the sender's idempotency header, whatever its spelling
            "event_id": self.headers.get("X-Eventbus-Event-Id"),
            "client_port": self.client_address[1],
            "conn_request": self.conn_requests,
            "status": code,
        }
        STATE.log(record)
        if code is None:
            self.hold()
            return
        _, resp_body, ctype, headers, delay = plan
        if delay:
            self.sleep_bounded(delay)
        self.answer(code, resp_body, ctype, headers)

    def header_dict(self):
        out = {}
        for k, v in self.headers.items():
            out[k] = out[k] + ", " + v if k in out else v
        return out

    def plan(self, parts, path, query, body, before):
        """(status, body, content type, headers, delay seconds) for the
        request; status None: never answer."""
        text = "text/plain; charset=utf-8"
        ok = (200, "ok\n", text, None, 0)
        if STATE.fast:
            return ok
        head = parts[0] if parts else ""
        try:
            if head == "ok":
                return ok
            if head == "status" and len(parts) >= 2:
                code = int(parts[1])
                if not 200 <= code <= 599:
                    raise ValueError
                headers = {}
                if 300 <= code < 400:
                    headers["Location"] = "/ok/redirected" + path
                if code == 429 or code == 503:
                    headers["Retry-After"] = "1"
                if code >= 400:
                    return (code, error_body(code, self.responses.get(code, ("",))[0]), text, headers, 0)
                return (code, "status %d\n" % code, text, headers, 0)
            if head == "retry-after" and len(parts) >= 2:
                secs = parts[1]
                int(secs)
                if before == 0:
                    return (429, error_body(429, "Too Many Requests"), text, {"Retry-After": secs}, 0)
                return ok
            if head == "flaky" and len(parts) >= 2:
                n = int(parts[1])
                if before < n:
                    return (500, error_body(500, "Internal Server Error"), text, None, 0)
                return ok
            if head == "slow" and len(parts) >= 2:
                ms = int(parts[1])
                return (200, "ok\n", text, None, max(0.0, min(ms / 1000.0, MAX_HOLD_SECONDS)))
            if head == "never":
                return (None, None, None, None, 0)
            if head == "auth" and len(parts) >= 2:
                return self.plan_auth(parts[1:])
            if head == "oauth" and len(parts) >= 2:
                if parts[1] == "token" and len(parts) == 2:
                    return self.plan_token(query, body)
                if parts[1] == "protected":
                    return self.plan_protected()
        except ValueError:
            return (400, "bad path parameter\n", text, None, 0)
        return (404, error_body(404, "Not Found"), text, None, 0)

    def plan_auth(self, parts):
        text = "text/plain; charset=utf-8"
        denied = (401, error_body(401, "Unauthorized"), text,
                  {"WWW-Authenticate": 'Basic realm="eventbus-test"'}, 0)
        if parts[0] == "basic" and len(parts) >= 3:
            want = "%s:%s" % (parts[1], parts[2])
            got = self.basic_credentials()
            return (200, "ok\n", text, None, 0) if got == want else denied
        if parts[0] == "apikey" and len(parts) >= 3:
            got = self.headers.get(parts[1])
            return (200, "ok\n", text, None, 0) if got == parts[2] else denied
        raise ValueError

    def basic_credentials(self):
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            return base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None

    def plan_token(self, query, body):
        """OAuth 2.0 client credentials grant (RFC 6749 4.4): the client id
        and secret in an Authorization: Basic header, or as client_id and
        client_secret in the body (form or JSON) or the query string."""
        params = dict(urllib.parse.parse_qsl(query))
        ctype = (self.headers.get("Content-Type") or "").lower()
        btext = body.decode("utf-8", errors="replace")
        if btext.strip():
            if "json" in ctype or btext.lstrip().startswith("{"):
                try:
                    obj = json.loads(btext)
                    if isinstance(obj, dict):
                        params.update({k: str(v) for k, v in obj.items()})
                except ValueError:
                    pass
            else:
                params.update(dict(urllib.parse.parse_qsl(btext)))
        grant = params.get("grant_type", "client_credentials")
        if grant != "client_credentials":
            return (400, json.dumps({"error": "unsupported_grant_type"}) + "\n",
                    "application/json", None, 0)
        cid, csecret = params.get("client_id"), params.get("client_secret")
        basic = self.basic_credentials()
        if basic is not None and ":" in basic:
            bid, bsecret = basic.split(":", 1)
            cid, csecret = urllib.parse.unquote_plus(bid), urllib.parse.unquote_plus(bsecret)
        if cid != STATE.client_id or csecret != STATE.client_secret:
            return (401, json.dumps({"error": "invalid_client"}) + "\n", "application/json",
                    {"WWW-Authenticate": 'Basic realm="eventbus-test-oauth"'}, 0)
        token, ttl = STATE.issue_token(params.get("scope"))
        resp = {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
        if params.get("scope"):
            resp["scope"] = params["scope"]
        return (200, json.dumps(resp) + "\n", "application/json",
                {"Cache-Control": "no-store"}, 0)

    def plan_protected(self):
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer " and STATE.token_valid(auth[7:].strip()):
            return (200, "ok\n", "text/plain; charset=utf-8", None, 0)
        return (401, error_body(401, "Unauthorized"), "text/plain; charset=utf-8",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'}, 0)

    # ---- holding and sleeping --------------------------------------
    def sleep_bounded(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.5))

    def hold(self):
        """Never answer: keep the connection open until the client goes
        away or MAX_HOLD_SECONDS have passed, then close it."""
        self.close_connection = True
        deadline = time.monotonic() + MAX_HOLD_SECONDS
        sock = self.connection
        while time.monotonic() < deadline:
            try:
                r, _, _ = select.select([sock], [], [], 0.5)
                if r and not sock.recv(4096):
                    return  # the client closed it
            except OSError:
                return

    # ---- control ---------------------------------------------------
    def control(self, parts, query):
        what = parts[0] if parts else ""
        if what == "ping" and self.command in ("GET", "HEAD"):
            self.answer(200, "pong\n")
        elif what == "stats" and self.command == "GET":
            with STATE.lock:
                obj = {
                    "requests": STATE.requests,
                    "paths": dict(STATE.stats),
                    "connections": STATE.connections,
                    "tokens_issued": STATE.tokens_issued,
                    "tokens_valid": sum(1 for e in STATE.tokens.values() if e[0] > time.time()),
                    "tokens_revoked": STATE.tokens_revoked,
                    "token_ttl": STATE.token_ttl,
                    "pid": os.getpid(),
                }
            self.answer_json(200, obj)
        elif what == "revoke_tokens" and self.command == "POST":
            self.answer_json(200, {"revoked": STATE.revoke_tokens()})
        elif what == "reset" and self.command == "POST":
            with STATE.lock:
                STATE.reset()
            if "log=truncate" in query.split("&"):
                STATE.truncate_log()
            self.answer_json(200, {"reset": True})
        elif what == "config" and self.command == "POST":
            params = dict(urllib.parse.parse_qsl(query))
            with STATE.lock:
                try:
                    if "token_ttl" in params:
                        STATE.token_ttl = int(params["token_ttl"])
                    if "client_id" in params:
                        STATE.client_id = params["client_id"]
                    if "client_secret" in params:
                        STATE.client_secret = params["client_secret"]
                except ValueError:
                    pass
                obj = {"token_ttl": STATE.token_ttl, "client_id": STATE.client_id}
            self.answer_json(200, obj)
        else:
            self.answer(404, "unknown control endpoint\n")


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 256
    address_family = socket.AF_INET


def main():
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    ap.add_argument("--port-file", help="write the port in use to this file once listening")
    ap.add_argument("--token-ttl", type=int, default=3600, help="expires_in of issued OAuth tokens (s)")
    ap.add_argument("--client-id", default="eb-client", help="the OAuth client id accepted")
    ap.add_argument("--client-secret", default="eb-client-secret", help="the OAuth client secret accepted")
    ap.add_argument("--fast", action="store_true",
                    help="benchmarks: every request gets 200 at once, nothing is logged")
    args = ap.parse_args()
    STATE = State(args)

    server = Server((LISTEN_HOST, args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print(port, flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if STATE.log_file:
            with STATE.lock:
                STATE.log_file.flush()
    # daemon threads (held connections) die with the process
    os._exit(0)


if __name__ == "__main__":
    main()

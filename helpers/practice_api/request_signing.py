"""The server's side of HMAC request signing, in the style of webhooks and cloud APIs.

The client and the server share a secret. The client signs what matters in the request
(method, path, a timestamp, a request id and a SHA-256 of the body) and sends the
signature in headers. The secret itself never travels. The server:
1. rebuilds the same string from what it received, and recomputes the HMAC-SHA256;
2. compares the two signatures in constant time;
3. refuses a timestamp more than 5 minutes (WINDOW_SECONDS) from its clock, in either
   direction: an old request replayed later, or one dated ahead to live longer;
4. refuses a request id it has already accepted (a request replayed within the window).
   Ids are kept per key id: two clients may pick the same id. It remembers each id until
   that id's *timestamp* has left the window, that is while the latest server time seen
   <= timestamp + 300 s, and forgets it only after. Counting 300 s from when the request
   arrived would not do: a request signed by a clock 250 s fast is accepted, and 301 s
   later its timestamp still is, so the same bytes would be a new order. Counting from the
   latest time seen, not the clock's current reading, means a clock stepped back (NTP)
   makes no forgotten id acceptable again: a timestamp older than that is refused as stale.

The query string is not in the string to sign, so this endpoint reads nothing from it.

The string to sign, one field per line:

    POST
    /signed/orders
    1795000000
    6f1c0a8e-...            (X-Request-Id: 1 to 100 visible ASCII characters, so no newline)
    <hex SHA-256 of the body>
"""
from __future__ import annotations

import hashlib
import hmac
import re
import threading

from helpers.practice_api.clock import Clock
from helpers.practice_api.wsgi import HTTPError, Request

WINDOW_SECONDS = 300
TIMESTAMP = re.compile(r"[0-9]{1,20}")  # whole seconds in ASCII digits: str.isdigit() also takes '²'
REQUEST_ID = re.compile(r"[!-~]{1,100}")  # visible ASCII: the string to sign has one field per line
SIGNATURE = re.compile(r"[0-9a-f]{64}")  # hex SHA-256; compare_digest refuses non-ASCII str with TypeError
CHALLENGE = 'PracticeHMAC realm="practice", headers="X-Key-Id X-Timestamp X-Request-Id X-Signature"'
# key id -> shared secret (32 bytes of entropy or more). DEMO ONLY: also published in helpers/practice_api/demo.py,
# because both sides of an HMAC need the same secret.
SECRETS = {"orders-client": b"Xw1l7XzYOQnJoOrDAnerMDCJklRy1-s5WglIgiSqqA8"}


def string_to_sign(method: str, path: str, timestamp: str, request_id: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, request_id, hashlib.sha256(body).hexdigest()]).encode()


class SignatureChecker:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.seen: dict[tuple[str, str], int] = {}  # (key id, request id) -> its X-Timestamp, while in the window
        self._latest = clock.now()  # the highest time seen: the window is counted from it
        self._lock = threading.Lock()

    def verify(self, request: Request) -> str:
        """The key id of a correctly signed, fresh, first-time request, or raise HTTPError."""
        names = ["X-Key-Id", "X-Timestamp", "X-Request-Id", "X-Signature"]
        values = {name: request.header(name) for name in names}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise _unauthorized("missing_signature", f"Signed requests need the headers {', '.join(missing)}.")
        secret = SECRETS.get(values["X-Key-Id"])
        if secret is None:
            raise _unauthorized("invalid_key", "Unknown X-Key-Id.")
        if not TIMESTAMP.fullmatch(values["X-Timestamp"]):
            raise HTTPError(400, "invalid_request", "X-Timestamp is whole seconds since 1970, in ASCII digits.")
        if not REQUEST_ID.fullmatch(values["X-Request-Id"]):
            # one field per line: a newline in the id would let two different requests sign the same string
            raise HTTPError(400, "invalid_request", "X-Request-Id is 1 to 100 visible ASCII characters: "
                            "no space, tab, newline or other control character.")
        expected = hmac.new(secret, string_to_sign(request.method, request.path, values["X-Timestamp"],
                                                   values["X-Request-Id"], request.body), hashlib.sha256).hexdigest()
        signature = values["X-Signature"].strip().lower()
        if not SIGNATURE.fullmatch(signature) or not hmac.compare_digest(expected, signature):
            raise _unauthorized("invalid_signature", "The signature does not match this method, path, timestamp, "
                                "request id and body. Was the body changed after signing?")
        now, timestamp = self.clock.now(), int(values["X-Timestamp"])
        with self._lock:
            self._latest = max(self._latest, now)
            if abs(now - timestamp) > WINDOW_SECONDS or timestamp + WINDOW_SECONDS < self._latest:
                raise _unauthorized("stale_timestamp", "X-Timestamp is more than 5 minutes from the server's clock.")
            # Forget only the ids whose timestamp this check now refuses anyway.
            self.seen = {seen: stamp for seen, stamp in self.seen.items() if self._latest <= stamp + WINDOW_SECONDS}
            request = (values["X-Key-Id"], values["X-Request-Id"])
            if request in self.seen:
                raise _unauthorized("replayed_request", "This X-Request-Id was already used: a replayed request.")
            self.seen[request] = timestamp
        return values["X-Key-Id"]


def _unauthorized(error: str, description: str) -> HTTPError:
    return HTTPError(401, error, description, [("WWW-Authenticate", CHALLENGE)])

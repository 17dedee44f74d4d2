"""The server's side of HTTP Digest authentication (RFC 7616), and why it is rarely chosen today.

Digest never sends the password: the client proves it knows it by hashing it with a
server nonce. The price is on the server: to check that hash, it must store
HA1 = H(user:realm:password) for each algorithm, and HA1 is as good as the password for
logging in here. A stolen password table is a stolen login, unlike salted PBKDF2 hashes.

This server:
- sends one challenge with `qop="auth"`, SHA-256 by default (MD5 when `?algorithm=MD5`);
- makes stateless nonces that carry their own time and an HMAC, and answers an old one with
  `stale=true`, so the client retries with a fresh nonce without asking the user again;
- refuses a nonce count (`nc`) it has already seen for a nonce: a replayed request.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading

from helpers.practice_api.clock import Clock
from helpers.practice_api.wsgi import HTTPError, Request

REALM = "practice"
NONCE_SECONDS = 300
NONCE_KEY = bytes.fromhex("8a28ccb029d3003a3bc9c5d06d50d5467952272e64ada6f3ab6c6e5b797e2c7d")  # demo only
ALGORITHMS = {"SHA-256": hashlib.sha256, "MD5": hashlib.md5}

# HA1 = H("ada:practice:<password>"): what a Digest server must store. Password-equivalent for this realm.
HA1 = {
    ("ada", "SHA-256"): "481e770d7268ac5457b81d5ef2a2d2a23d3709b783e36691c4a8c51657d2db67",
    ("ada", "MD5"): "71ff50dffd8da8cea5fcfd3520a26779",
}
HEX_DIGEST = re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")  # an MD5 or SHA-256 response, in hex
AUTH_PARAM = re.compile(r'\s*([a-zA-Z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]+)\s*(,|$)')


class DigestAuthenticator:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.seen_counts: dict[str, int] = {}  # nonce -> highest nc used, while the nonce is fresh
        self._latest = clock.now()  # nonce ages count from the highest time seen: a clock stepped back revives none
        self._lock = threading.Lock()

    def challenge(self, algorithm: str, stale: bool = False) -> str:
        nonce = self._new_nonce()
        header = (f'Digest realm="{REALM}", qop="auth", algorithm={algorithm}, nonce="{nonce}", '
                  f'opaque="{hashlib.sha256(REALM.encode()).hexdigest()[:32]}"')
        return header + (", stale=true" if stale else "")

    def authenticate(self, request: Request) -> str:
        """The user name the Digest response proves, or raise HTTPError 400/401."""
        algorithm = "MD5" if "algorithm=MD5" in request.query.split("&") else "SHA-256"
        header = request.header("Authorization")
        if not header or not header.strip():
            raise self._unauthorized(algorithm, "missing_credentials", "This endpoint uses Digest authentication: "
                                     "requests.get(url, auth=HTTPDigestAuth(user, password)).")
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() != "digest":
            raise self._unauthorized(algorithm, "invalid_scheme", "This endpoint uses the Digest scheme.")
        params = parse_auth_params(rest)
        required = {"username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce"}
        if not required <= set(params):
            raise HTTPError(400, "invalid_request", f"Digest credentials need {', '.join(sorted(required))}.")
        if params.get("algorithm", "MD5").upper() != algorithm.upper():
            raise self._unauthorized(algorithm, "invalid_credentials", f"Answer with algorithm={algorithm}.")
        if params["realm"] != REALM or params["qop"] != "auth" or not re.fullmatch(r"[0-9a-fA-F]{8}", params["nc"]):
            raise HTTPError(400, "invalid_request", 'Use realm="practice", qop=auth and an 8-digit hex nc.')
        target = request.path + ("?" + request.query if request.query else "")
        if params["uri"] != target:
            raise HTTPError(400, "invalid_request", "The uri parameter must be this request's target.")
        if not self._nonce_is_ours(params["nonce"]):
            raise self._unauthorized(algorithm, "invalid_credentials", "This nonce was not issued by this server.")
        expected = self._response(params, algorithm, request.method)
        response = params["response"].lower()
        # hex only: hmac.compare_digest raises TypeError for a str that is not ASCII
        if expected is None or not HEX_DIGEST.fullmatch(response) or not hmac.compare_digest(expected, response):
            raise self._unauthorized(algorithm, "invalid_credentials", "Wrong user name or password.")
        if self._nonce_age(params["nonce"]) > NONCE_SECONDS:
            raise self._unauthorized(algorithm, "stale_nonce", "The nonce has expired; retry with the new one.",
                                     stale=True)
        with self._lock:
            self._forget_expired()
            count = int(params["nc"], 16)
            if count <= self.seen_counts.get(params["nonce"], 0):
                raise self._unauthorized(algorithm, "replayed_request",
                                         "This nonce count was already used: the request looks replayed.")
            self.seen_counts[params["nonce"]] = count
        return params["username"]

    def _forget_expired(self) -> None:
        """Drop the counts of expired nonces: those get stale=true before their count is looked at,
        so forgetting them lets no replay through, and a long-running server does not grow forever."""
        self.seen_counts = {nonce: count for nonce, count in self.seen_counts.items()
                            if self._nonce_age(nonce) <= NONCE_SECONDS}

    def _response(self, params: dict[str, str], algorithm: str, method: str) -> str | None:
        """KD(HA1, nonce:nc:cnonce:qop:HA2) with HA2 = H(method:uri) (RFC 7616 §3.4.1)."""
        ha1 = HA1.get((params["username"], algorithm))
        if ha1 is None:
            return None
        hash_ = ALGORITHMS[algorithm]
        ha2 = hash_(f"{method}:{params['uri']}".encode("utf-8")).hexdigest()
        data = f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:{params['qop']}:{ha2}"
        return hash_(data.encode("utf-8")).hexdigest()

    def _new_nonce(self) -> str:
        stamp = f"{self.clock.now():.3f}:{secrets.token_hex(8)}"
        mac = hmac.new(NONCE_KEY, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        return base64.b64encode(f"{stamp}:{mac}".encode()).decode("ascii")

    def _nonce_is_ours(self, nonce: str) -> bool:
        try:
            when, salt, mac = base64.b64decode(nonce, validate=True).decode("ascii").split(":")
        except (ValueError, UnicodeDecodeError):
            return False
        expected = hmac.new(NONCE_KEY, f"{when}:{salt}".encode(), hashlib.sha256).hexdigest()[:32]
        return hmac.compare_digest(expected, mac)

    def _nonce_age(self, nonce: str) -> float:
        self._latest = max(self._latest, self.clock.now())
        return self._latest - float(base64.b64decode(nonce).decode("ascii").split(":")[0])

    def _unauthorized(self, algorithm: str, error: str, description: str, stale: bool = False) -> HTTPError:
        return HTTPError(401, error, description, [("WWW-Authenticate", self.challenge(algorithm, stale))])


def parse_auth_params(text: str) -> dict[str, str]:
    """`a="x", b=y` into {"a": "x", "b": "y"}, or HTTPError 400 (RFC 9110 §11.2 auth-param syntax)."""
    params, position = {}, 0
    while position < len(text):
        match = AUTH_PARAM.match(text, position)
        if match is None or match.end() == position:
            raise HTTPError(400, "invalid_request", "The Digest credentials are not a list of name=value pairs.")
        name, raw, quoted = match.group(1).lower(), match.group(2), match.group(3)
        params[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else raw
        position = match.end()
    return params

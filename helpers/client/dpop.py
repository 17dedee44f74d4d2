"""DPoP for requests: `DPoPAuth` proves, with every request, that the sender holds a private key.

A bearer token works for whoever holds it. A DPoP-bound token (RFC 9449) works only with a fresh
proof signed by the key it was issued to: a stolen token alone opens nothing. `DPoPAuth` is a
`requests.auth.AuthBase`, like requests' HTTPDigestAuth, and needs only requests, PyJWT and
cryptography, so this file can be copied into a project on its own.

    dpop = DPoPAuth()                                   # a new EC P-256 key, ES256 proofs
    response = session.post(token_url, data=form, auth=dpop.token_auth(), timeout=5)
    dpop.use_token(response.json())                     # token_type must be DPoP
    session.get(api_url, auth=dpop, timeout=5)          # Authorization: DPoP <token> + DPoP: <proof>

What it does, each with its section of RFC 9449:
- a new proof for every request (§4.2): header `typ: dpop+jwt`, `alg`, `jwk` (the PUBLIC key
  only); claims `jti` (128 random bits), `htm`, `htu` (the URL without query and fragment,
  normalised as RFC 3986 §6.2.2 and §6.2.3 say; see `htu()`), `iat`, `ath` (base64url SHA-256 of the very
  token this request carries), and `nonce` once a server has given one;
- server nonces (§8, §9): a 400 `use_dpop_nonce` from the token endpoint, or a 401 with
  `WWW-Authenticate: DPoP error="use_dpop_nonce"` from an API, is answered by ONE retry with a
  new proof carrying the `DPoP-Nonce` the server sent. A body that cannot be sent twice (a
  generator) is not: the caller gets the refusal, and the next request carries the nonce. A
  `DPoP-Nonce` on any other response replaces the one kept for that server (§8.2);
- TLS only: https://, or http:// to 127.0.0.1 or [::1], as for any token (RFC 6750 §5.3).

What it never does: reuse a proof, sign the URL's query or fragment, put the private key in a
proof, a token dict, its repr or its pickle, compute `ath` from a token other than the one sent,
or let the token or a proof follow a redirect.

Threads: requests promises no thread safety for a `Session` (psf/requests#2766). Give each
thread its own Session and share this one auth object: a lock guards the nonces it learns.
Redirects: requests does not call an auth object again on a redirect. It would send the old proof
(made for the old URL) and the token to wherever `Location` points: another host, plain http://,
another port. So on any redirect DPoPAuth removes `Authorization` and `DPoP` before requests follows
it, even to the same origin (requests may change the method, so a proof made here could name the
wrong one). Send DPoP requests with `allow_redirects=False`, check the `Location` yourself, and send
a new request to it with `auth=` this object: it gets a new proof for the new URL.
"""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import secrets
import threading
import time
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from requests.auth import AuthBase

# The curves this class signs with, and the JWS alg of each (RFC 7518 §3.4).
CURVES = {"P-256": ("ES256", ec.SECP256R1, 32), "P-384": ("ES384", ec.SECP384R1, 48)}
DEFAULT_PORTS = {"http": 80, "https": 443}
# A nonce is NQCHAR: printable ASCII without '"' and '\' (RFC 9449 §8.1). Anything else is ignored.
NONCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,512}")


class InsecureTransportError(ValueError):
    """A DPoP token would cross the network without TLS: refused before anything is sent."""


def require_tls(url: str) -> None:
    """Raise InsecureTransportError unless `url` is https://, or http:// to a loopback IP literal.

    A DPoP token is bound to a key, but the request it rides on, its answer and the proof itself
    are still for nobody else to read: DPoP adds to TLS, it does not replace it (RFC 6750 §5.3,
    RFC 6749 §10.3 for tokens on the wire). 127.0.0.1 and
    [::1] never leave the machine; the name localhost may resolve elsewhere (RFC 8252 §8.3).
    """
    parts = urlsplit(url)
    if parts.scheme == "https" or parts.scheme == "http" and _is_loopback_literal(parts.hostname):
        return
    raise InsecureTransportError(
        f"Refusing to send a DPoP token or proof to {parts.scheme}://{parts.hostname}: without TLS anyone "
        f"on the way reads the token and the answer (RFC 6750 §5.3, RFC 6749 §10.3). Use an https:// URL; "
        f"plain http:// is allowed only to 127.0.0.1 or [::1].")


def _is_loopback_literal(host: str | None) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return address.is_loopback if address.version == 4 else address == ipaddress.IPv6Address("::1")


def htu(url: str) -> str:
    """The `htu` of a request to `url`: without query and fragment (RFC 9449 §4.2), normalised.

    The server compares after syntax- and scheme-based normalisation (RFC 9449 §4.3 point 9,
    RFC 3986 §6.2.2, §6.2.3), so the client sends the normal form. The URL is first prepared as
    requests prepares the one it sends (IDNA host, dot segments removed, percent-encoding with
    upper-case hex, unreserved characters decoded), then scheme and host go to lower case, the
    default port is dropped, and an empty path becomes "/".
    """
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    parts = urlsplit(prepared.url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    netloc = host if parts.port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{parts.port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def ath(access_token: str) -> str:
    """base64url SHA-256 of the access token's ASCII, no padding (RFC 9449 §4.2)."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


# The REQUIRED members of a public JWK, the only ones a thumbprint hashes (RFC 7638 §3.2).
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def jwk_thumbprint(jwk: dict) -> str:
    """RFC 7638 §3: base64url SHA-256 of the required members, sorted, as JSON without whitespace."""
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    text = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _b64url(hashlib.sha256(text.encode("utf-8")).digest())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _origin(url: str) -> str:
    """Nonces belong to one server (RFC 9449 §8, §9): they are kept per scheme, host and port."""
    parts = urlsplit(htu(url))
    return f"{parts.scheme}://{parts.netloc}"


class DPoPAuth(AuthBase):
    """Send `Authorization: DPoP <token>` with a fresh DPoP proof (RFC 9449 §7.1), over TLS only.

    `private_key` is an EC private key from `cryptography` (P-256 for ES256, the default, or P-384
    for ES384); without one a new P-256 key is made, which takes a millisecond. Keep the same
    key for as long as its tokens live: a token is bound to the key's thumbprint (`jkt`).
    Which algorithms a server takes is its metadata's `dpop_signing_alg_values_supported` (RFC 9449
    §5.1): read it before you pick a key. The practice API lists ES256 and RS256, so it refuses an
    ES384 proof: use P-256 there.
    `now` is the clock for `iat` (`time.time` unless you are testing against a practice clock).
    """

    def __init__(self, private_key: ec.EllipticCurvePrivateKey | None = None, *,
                 access_token: str | None = None, now: Callable[[], float] = time.time) -> None:
        key = ec.generate_private_key(ec.SECP256R1()) if private_key is None else private_key
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("DPoPAuth signs with an EC private key (cryptography's ec module): P-256 or P-384.")
        curve = {"secp256r1": "P-256", "secp384r1": "P-384"}.get(key.curve.name)
        if curve is None:
            raise ValueError(f"Curve {key.curve.name} is not supported: use P-256 (ES256) or P-384 (ES384).")
        self.alg, _, size = CURVES[curve]
        self._key = key
        numbers = key.public_key().public_numbers()
        # The public JWK: kty, crv, x, y and nothing else (RFC 7518 §6.2.1). Never "d" (RFC 9449 §4.2).
        self.public_jwk = {"crv": curve, "kty": "EC", "x": _b64url(numbers.x.to_bytes(size, "big")),
                           "y": _b64url(numbers.y.to_bytes(size, "big"))}
        self.access_token = access_token
        self.now = now
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def thumbprint(self) -> str:
        """The key's JWK thumbprint (RFC 7638 §3): what a bound token's `cnf.jkt` holds (RFC 9449 §6.1)."""
        return jwk_thumbprint(self.public_jwk)

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        """A new DPoP proof JWT for one request (RFC 9449 §4.2). Never send the same one twice."""
        claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": htu(url),
                  "iat": int(self.now())}
        if access_token is not None:
            claims["ath"] = ath(access_token)
        nonce = self.nonce_for(url)
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, self._key, algorithm=self.alg,
                          headers={"typ": "dpop+jwt", "jwk": dict(self.public_jwk)})

    def nonce_for(self, url: str) -> str | None:
        """The last nonce the server of `url` gave, if any."""
        with self._lock:
            return self._nonces.get(_origin(url))

    def use_token(self, tokens: dict) -> None:
        """Take the access token from a token response, which must say `token_type: DPoP`.

        RFC 9449 §5: the server says DPoP when it bound the token. A Bearer answer means it did
        not, and a client MUST NOT use a token type it does not understand (RFC 6749 §7.1); the
        refresh token stays in the dict, with your other tokens: the key never goes there.
        """
        token_type = tokens.get("token_type") if isinstance(tokens, dict) else None
        if not isinstance(token_type, str) or token_type.lower() != "dpop":
            raise ValueError(f"The token response says token_type {token_type!r}, not 'DPoP': the server did not "
                             f"bind the token to this key (RFC 9449 §5). Not used.")
        token = tokens.get("access_token")
        if not isinstance(token, str) or not token:
            raise ValueError("The token response has no access_token string (RFC 6749 §5.1). Not used.")
        self.access_token = token

    def token_auth(self, client_auth: AuthBase | None = None) -> AuthBase:
        """An auth for the token request: a DPoP proof without `ath`, and `client_auth` (e.g. Basic) if given.

        It answers the token endpoint's `400 use_dpop_nonce` with one retry (RFC 9449 §8). With
        private_key_jwt, the client assertion is in the form: a retry resends it, so a server that
        records its `jti` before it checks the proof refuses the retry as a replay.
        """
        return _TokenRequestAuth(self, client_auth)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        require_tls(request.url)
        if not self.access_token:
            raise ValueError("No access token yet: call use_token() with the token response first.")
        token = self.access_token  # read once: the header and ath must name the same token
        request.headers["Authorization"] = f"DPoP {token}"
        request.headers["DPoP"] = self.proof(request.method, request.url, token)
        request.register_hook("response", self._after_response)
        return request

    def _after_response(self, response: requests.Response, **kwargs) -> requests.Response:
        """Response hook: keep a new nonce (§8.2); retry once on 401 use_dpop_nonce (§9); never let the
        token and proof follow a redirect."""
        self._remember_nonce(response)
        if response.status_code != 401 or "use_dpop_nonce" not in _dpop_errors(response):
            return _keep_credentials_home(response, response)
        sent = response.request.headers.get("Authorization", "")
        if not sent.startswith("DPoP "):
            return response  # not a request this object signed: not our 401
        return _keep_credentials_home(response, self._retry(response, sent.removeprefix("DPoP "), **kwargs))

    def _remember_nonce(self, response: requests.Response) -> bool:
        """Keep the response's DPoP-Nonce for its server; True if it is a nonce not used before."""
        nonce = response.headers.get("DPoP-Nonce")
        if nonce is None or not NONCE.fullmatch(nonce):
            return False
        with self._lock:
            origin = _origin(response.request.url)
            new = self._nonces.get(origin) != nonce
            self._nonces[origin] = nonce
        return new

    def _retry(self, response: requests.Response, token: str | None, **kwargs) -> requests.Response:
        """Send the request again, once, with a new proof carrying the server's new nonce (and the caller's
        timeout, which requests hands the hook in `kwargs`)."""
        request = response.request
        if getattr(request, "dpop_nonce_retried", False):
            return response  # the server refused the nonce it gave: do not loop
        if self._nonce_sent(request) == self.nonce_for(request.url) or not _rewind_body(request):
            return response  # no new nonce to try, or a generator that was read to the end
        retry = request.copy()
        retry.headers["DPoP"] = self.proof(request.method, request.url, token)
        retry.dpop_nonce_retried = True
        response.content  # read the body so that the connection can be reused
        response.close()
        new_response = response.connection.send(retry, **kwargs)
        new_response.history.append(response)
        new_response.request = retry
        self._remember_nonce(new_response)  # adapter.send runs no hooks
        return new_response

    @staticmethod
    def _nonce_sent(request: requests.PreparedRequest) -> str | None:
        try:
            return jwt.decode(request.headers.get("DPoP", ""), options={"verify_signature": False}).get("nonce")
        except jwt.InvalidTokenError:
            return None

    def __repr__(self) -> str:
        return f"DPoPAuth({self.alg}, jkt={self.thumbprint}, <key and token hidden>)"

    def __reduce__(self):
        raise TypeError("A DPoPAuth holds a private key: it is not pickled (keep the key in a key store, "
                        "not next to the tokens).")


class _TokenRequestAuth(AuthBase):
    """The token request's auth: client authentication, then a DPoP proof without ath (RFC 9449 §5)."""

    def __init__(self, dpop: DPoPAuth, client_auth: AuthBase | None) -> None:
        self.dpop = dpop
        self.client_auth = client_auth

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        require_tls(request.url)
        if self.client_auth is not None:
            request = self.client_auth(request)
        request.headers["DPoP"] = self.dpop.proof(request.method, request.url)
        request.register_hook("response", self._after_response)
        return request

    def _after_response(self, response: requests.Response, **kwargs) -> requests.Response:
        self.dpop._remember_nonce(response)
        if response.status_code != 400 or _json_error(response) != "use_dpop_nonce":
            return _keep_credentials_home(response, response)
        return _keep_credentials_home(response, self.dpop._retry(response, None, **kwargs))

    def __repr__(self) -> str:
        return f"DPoPAuth.token_auth({self.client_auth!r})"


def _keep_credentials_home(first: requests.Response, final: requests.Response) -> requests.Response:
    """On a redirect, remove Authorization and DPoP from the request requests is about to copy.

    requests follows `final` with a copy of the FIRST request it sent (Session.resolve_redirects), so a
    retry's redirect must clear both. The proof names the old URL, and the token is for this server only.
    """
    if final.is_redirect:
        for request in {id(first.request): first.request, id(final.request): final.request}.values():
            request.headers.pop("Authorization", None)
            request.headers.pop("DPoP", None)
    return final


def _json_error(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


# WWW-Authenticate (RFC 9110 §11.6.1): challenges and their auth-params share one comma-separated list.
_PIECE = re.compile(r'\s*(?:"(?:[^"\\]|\\.)*"|[^,"])+')
_PARAM = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*$')


def _dpop_errors(response: requests.Response) -> set[str]:
    """The `error` values of the DPoP challenges in WWW-Authenticate (RFC 9449 §7.1); never raises."""
    errors, in_dpop = set(), False
    for piece in _PIECE.findall(response.headers.get("WWW-Authenticate", "")):
        piece = piece.strip()
        param = _PARAM.match(piece)
        if param is None:  # a new challenge: "scheme" or "scheme name=value"
            scheme, _, rest = piece.partition(" ")
            in_dpop = scheme.lower() == "dpop"
            param = _PARAM.match(rest)
        if in_dpop and param is not None and param.group(1).lower() == "error":
            errors.add(re.sub(r"\\(.)", r"\1", param.group(2).strip('"')))
    return errors


def _rewind_body(request: requests.PreparedRequest) -> bool:
    """Put a streamed body (a file) back where it started; False if it cannot be (a generator)."""
    if request.body is None or isinstance(request.body, (bytes, str)):
        return True
    try:
        requests.utils.rewind_body(request)
    except requests.exceptions.UnrewindableBodyError:
        return False
    return True

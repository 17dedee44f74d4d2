"""DPoP proofs (RFC 9449): a token bound to a key the client holds, proven on every request.

Read this next to notebook 09. A bearer token works for whoever holds it. A DPoP-bound token works
only with a fresh *proof*: a small JWT the client signs for each request with its own private key,
naming the method (`htm`), the URL (`htu`), the time (`iat`), a unique id (`jti`) and, at a resource,
the hash of the access token (`ath`). The public key travels in the proof's header (`jwk`); the
token carries its thumbprint (`cnf.jkt`, RFC 7638), so a thief with the token but not the key gets
nowhere.

`DPoPChecker.check` does what RFC 9449 §4.3 lists, in its order:
1. one `DPoP` header, a well-formed JWT (§4.3 points 1-2), at most `MAX_PROOF_LENGTH` characters;
2. `typ` is `dpop+jwt` (point 4), or `application/dpop+jwt`, the same media type (RFC 7515 §4.1.9:
   a `typ` without "/" means "application/" + it; as for access tokens and client assertions);
   `alg` is in `ALGORITHMS`, never `none` or an HMAC (point 5);
3. `jwk` is a public key, with no private member such as `d` (point 7), of the algorithm's type,
   each member in its one canonical base64url form (RFC 7518 §6.2.1, §6.3.1: unpadded, full-size EC
   coordinates, minimal RSA integers), so that one key has one thumbprint; the signature verifies
   with it (point 6);
4. `htm` is the request's method (point 8), and `htu` the URL the request was sent to (point 9):
   scheme, the Host as received, the path; both are compared after RFC 3986 §6.2.2 and §6.2.3
   normalisation, "ignoring any query and fragment parts" (point 9). A client leaves them out
   (§4.2, `DPoPAuth` does); a server that is sent them ignores them, as §4.3 says;
5. `nonce`, when the server demands one, is one it issued lately (point 10, §8, §9); once a newer
   nonce exists, the answer, successful or not, carries it in `DPoP-Nonce` (§8.2, §9);
6. `iat` within `PROOF_SECONDS` in the past and `LEEWAY_SECONDS` in the future (point 11, §11.1);
7. `jti` not seen before while the proof could still be accepted (§11.1): the replay cache keeps
   each id until iat + PROOF_SECONDS + LEEWAY_SECONDS;
8. at a resource: `ath` is BASE64URL(SHA-256(access token)) (point 12, §4.2), and the proof's key
   is the one the token is bound to (point 12, `cnf.jkt`, §6.1). A proof valid in itself but signed
   by another key is refused as §7.1's example does: `invalid_token`, "Invalid DPoP key binding"
   (the token's confirmation failed, not the proof).

Refusals: 400 `invalid_dpop_proof` or `use_dpop_nonce` (with a `DPoP-Nonce` header) at the token
endpoint (§5, §8); 401 with `WWW-Authenticate: DPoP algs="...", error="..."` at a resource (§7.1, §9).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from contextvars import ContextVar
from typing import Any, Callable

from helpers.practice_api.clock import Clock, is_numeric_date
from helpers.practice_api.replay_cache import ReplayCache
from helpers.practice_api.wsgi import HTTPError, printable

ALGORITHMS = ("ES256", "RS256")  # dpop_signing_alg_values_supported (RFC 9449 §5.1)
PROOF_TYPE = "dpop+jwt"  # RFC 9449 §4.2
PROOF_TYPES = {PROOF_TYPE, "application/" + PROOF_TYPE}  # compared without case (RFC 7515 §4.1.9)
PROOF_SECONDS = 60  # how old an iat may be (RFC 9449 §11.1: "a reasonable window of time")
LEEWAY_SECONDS = 5  # how far in the future, for a client clock slightly ahead
NONCE_SECONDS = 300  # a server nonce is accepted this long after it was issued
MAX_PROOF_LENGTH = 4096
MAX_JTI_LENGTH = 256
# Which public members each key type needs (RFC 7638 §3.2: the thumbprint is over exactly these).
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}
# Private members of a JWK (RFC 7518 §6.2.2, §6.3.2, §6.4.1): a proof's jwk must carry none.
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
KEY_TYPES = {"ES256": ("EC", "P-256"), "RS256": ("RSA", None)}
MIN_RSA_BITS = 2048
REALM = "practice"
# scheme "://" authority path-abempty [ "?" query ] [ "#" fragment ] (RFC 3986 §3), printable ASCII only.
URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#\x00-\x20\x7f-\uffff]+)(/[^?#\x00-\x20\x7f-\uffff]*)?"
                 r"(?:\?[^#\x00-\x20\x7f-\uffff]*)?(?:#[\x21-\x7e]*)?")
PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]")  # RFC 3986 §2.3
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")  # RFC 7515 §2: no padding, no other characters
EC_COORDINATE_BYTES = {"P-256": 32}  # RFC 7518 §6.2.1.2-3: "the full size of a coordinate for the curve"
# A newer nonce than the one a successful request used, for its answer's DPoP-Nonce (RFC 9449 §8.2, §9).
# Set by `DPoPChecker.check`, read (and reset) by the app around each request.
NEXT_NONCE: ContextVar[str | None] = ContextVar("next_nonce", default=None)


def thumbprint(jwk: dict) -> str:
    """The JWK SHA-256 thumbprint (RFC 7638 §3): the required members, sorted, no spaces, hashed."""
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def access_token_hash(access_token: str) -> str:
    """The `ath` claim: BASE64URL(SHA-256(the ASCII access token)) (RFC 9449 §4.2)."""
    return _b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token_endpoint_error(error: str, description: str, nonce: str | None = None) -> HTTPError:
    """A refusal at the token endpoint: 400, and the nonce to use if that is the trouble (RFC 9449 §5, §8)."""
    return HTTPError(400, error, description, [("DPoP-Nonce", nonce)] if nonce else [])


def resource_error(error: str, description: str, nonce: str | None = None, status: int = 401) -> HTTPError:
    """A refusal at a resource: a DPoP challenge naming the algorithms this API takes (RFC 9449 §7.1, §9)."""
    challenge = (f'DPoP realm="{REALM}", algs="{" ".join(ALGORITHMS)}", error="{error}", '
                 f'error_description="{printable(description)}"')
    return HTTPError(status, error, description, [("WWW-Authenticate", challenge),
                                                  *([("DPoP-Nonce", nonce)] if nonce else [])])


class DPoPChecker:
    """Checks DPoP proofs for one server (authorization server and resources alike), and keeps its nonces."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.nonce_required = False  # `api.require_dpop_nonce(True)` turns it on (RFC 9449 §8, §9)
        self._nonces: dict[str, float] = {}  # nonce -> when it was issued
        self.seen = ReplayCache(clock)  # jti, each until a proof with its iat could be accepted
        self._lock = threading.Lock()

    # -- nonces (RFC 9449 §8) ------------------------------------------------------------------

    def nonce(self) -> str:
        """The nonce to hand out now: a new one once the newest is half its lifetime old."""
        now = self.clock.now()
        with self._lock:
            for old in [n for n, issued in self._nonces.items() if issued + NONCE_SECONDS <= now]:
                del self._nonces[old]
            newest = max(self._nonces.items(), key=lambda item: item[1], default=None)
            if newest is not None and newest[1] + NONCE_SECONDS / 2 > now:
                return newest[0]
            fresh = secrets.token_urlsafe(24)  # base64url characters only: safe in a header (§8.1)
            self._nonces[fresh] = now
            return fresh

    def _nonce_is_current(self, nonce: object) -> bool:
        now = self.clock.now()
        with self._lock:
            issued = self._nonces.get(nonce) if isinstance(nonce, str) else None
            return issued is not None and issued + NONCE_SECONDS > now

    # -- proofs (RFC 9449 §4.3) -----------------------------------------------------------------

    def check(self, proof: str | None, method: str, url: str, *, access_token: str | None = None,
              bound_to: str | None = None, fail: Callable[..., HTTPError]) -> str:
        """The thumbprint of the key that signed `proof`, once every rule of the module docstring holds.

        `url` is the request's URL without query (the server's own base URL and the path). At a
        resource, `access_token` is the token sent with the proof and `bound_to` its `cnf.jkt`.
        `fail(error, description, nonce=None)` makes the refusal (`token_endpoint_error` or
        `resource_error`).
        """
        import jwt

        if not proof:
            raise fail("invalid_dpop_proof", "Send a DPoP proof in the DPoP header (RFC 9449 section 4).")
        if len(proof) > MAX_PROOF_LENGTH:
            raise fail("invalid_dpop_proof", f"The DPoP proof is longer than {MAX_PROOF_LENGTH} characters.")
        try:
            header = jwt.get_unverified_header(proof)
        except jwt.DecodeError:
            raise fail("invalid_dpop_proof", "The DPoP header is not one JWT (three base64url parts separated by "
                       "dots); send exactly one DPoP header.") from None
        except jwt.InvalidTokenError:
            raise fail("invalid_dpop_proof", "The DPoP proof's header is malformed.") from None
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in PROOF_TYPES:
            raise fail("invalid_dpop_proof", "The DPoP proof's typ must be dpop+jwt (RFC 9449 section 4.2).")
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise fail("invalid_dpop_proof", f"Sign the DPoP proof with one of {', '.join(ALGORITHMS)}: an "
                       "asymmetric algorithm, never none or HMAC (RFC 9449 section 4.2).")
        if "crit" in header or "b64" in header:
            raise fail("invalid_dpop_proof", "The DPoP proof names a critical extension (crit) this server does "
                       "not understand.")
        jwk = header.get("jwk")
        key = self._public_key(jwk, algorithm, fail)
        try:
            claims = jwt.decode(proof, key, algorithms=[algorithm],
                                options={"verify_aud": False, "verify_iss": False, "verify_exp": False,
                                         "verify_iat": False, "verify_nbf": False, "verify_jti": False})
        except jwt.InvalidSignatureError:
            raise fail("invalid_dpop_proof", "The DPoP proof's signature does not match the key in its jwk "
                       "header.") from None
        except jwt.InvalidTokenError:
            raise fail("invalid_dpop_proof", "The DPoP proof's claims are malformed.") from None
        self._claims(claims, method, url, access_token, fail)
        key_thumbprint = thumbprint(jwk)
        if bound_to is not None and key_thumbprint != bound_to:  # the example of RFC 9449 §7.1
            raise fail("invalid_token", "Invalid DPoP key binding: the DPoP proof is signed by another key than "
                       "the one the token is bound to (cnf.jkt, RFC 9449 section 6.1).")
        self._remember(claims["jti"], claims["iat"], fail)
        if self.nonce_required:
            newest = self.nonce()  # a new one once the proof's is half its lifetime old
            if newest != claims.get("nonce"):
                NEXT_NONCE.set(newest)
        return key_thumbprint

    def _public_key(self, jwk: Any, algorithm: str, fail: Callable[..., HTTPError]):
        """The key of the proof's `jwk` header, if it is a public key for `algorithm` (RFC 9449 §4.3 point 7)."""
        import jwt

        if not isinstance(jwk, dict):
            raise fail("invalid_dpop_proof", "The DPoP proof's header needs jwk: the public key, as a JSON object.")
        if PRIVATE_MEMBERS & set(jwk):
            raise fail("invalid_dpop_proof", "The DPoP proof's jwk holds a private key: send the public key only, "
                       "and keep the private key secret (RFC 9449 section 4.3).")
        kty, curve = KEY_TYPES[algorithm]
        members = THUMBPRINT_MEMBERS.get(jwk.get("kty")) if isinstance(jwk.get("kty"), str) else None
        if jwk.get("kty") != kty or curve is not None and jwk.get("crv") != curve or members is None or not all(
                isinstance(jwk.get(name), str) and jwk[name] for name in members):
            raise fail("invalid_dpop_proof", f"{algorithm} needs a {kty} key"
                       + (f" on {curve}" if curve else "") + " in jwk, with " + ", ".join(
                           THUMBPRINT_MEMBERS[kty]) + " as strings.")
        if not _canonical_members(jwk):
            raise fail("invalid_dpop_proof", "The DPoP proof's jwk members must be unpadded base64url: EC x and y "
                       "the full coordinate size, RSA n and e without leading zero octets (RFC 7518 sections "
                       "6.2.1 and 6.3.1), so that the key has one thumbprint.")
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):  # bad base64, a point off the curve, ...
            raise fail("invalid_dpop_proof", "The DPoP proof's jwk is not a valid public key.") from None
        if kty == "RSA" and key.key_size < MIN_RSA_BITS:
            raise fail("invalid_dpop_proof", f"An RSA key in a DPoP proof needs at least {MIN_RSA_BITS} bits.")
        return key

    def _claims(self, claims: dict, method: str, url: str, access_token: str | None,
                fail: Callable[..., HTTPError]) -> None:
        now = self.clock.now()
        for name in ("jti", "htm", "htu"):
            if not isinstance(claims.get(name), str) or not claims[name]:
                raise fail("invalid_dpop_proof", f"The DPoP proof needs {name} as a non-empty string "
                           "(RFC 9449 section 4.2).")
        if len(claims["jti"]) > MAX_JTI_LENGTH:
            raise fail("invalid_dpop_proof", f"The DPoP proof's jti is longer than {MAX_JTI_LENGTH} characters.")
        iat = claims.get("iat")
        if not is_numeric_date(iat):
            raise fail("invalid_dpop_proof", "The DPoP proof needs iat: the time it was made, in seconds since the "
                       "epoch (a number).")
        if claims["htm"] != method:
            raise fail("invalid_dpop_proof", f"The DPoP proof is for another method: htm must be {method} "
                       "(RFC 9449 section 4.3).")
        htu = _normalized(claims["htu"])  # its query and fragment ignored (RFC 9449 §4.3 point 9)
        if htu is None or htu != _normalized(url):
            raise fail("invalid_dpop_proof", f"The DPoP proof is for another URL: htu must be {printable(url)} "
                       "(RFC 9449 section 4.3).")
        if self.nonce_required and not self._nonce_is_current(claims.get("nonce")):
            what = "has no nonce" if "nonce" not in claims else "has a nonce this server did not issue lately"
            raise fail("use_dpop_nonce", f"The DPoP proof {what}: put the DPoP-Nonce of this answer in the "
                       "proof's nonce claim and try again (RFC 9449 section 8).", nonce=self.nonce())
        if iat > now + LEEWAY_SECONDS:
            raise fail("invalid_dpop_proof", "The DPoP proof was made in the future (iat): check the clock.")
        if iat < now - PROOF_SECONDS:
            raise fail("invalid_dpop_proof", f"The DPoP proof is older than {PROOF_SECONDS} s (iat): make a fresh "
                       "one for every request.")
        if access_token is not None:
            ath = claims.get("ath")
            if not isinstance(ath, str):
                raise fail("invalid_dpop_proof", "The DPoP proof needs ath, the hash of the access token it is sent "
                           "with (RFC 9449 section 4.2).")
            if ath != access_token_hash(access_token):
                raise fail("invalid_dpop_proof", "The DPoP proof's ath is not the hash of this access token.")

    def _remember(self, jti: str, iat: float, fail: Callable[..., HTTPError]) -> None:
        """Refuse a jti seen before, and keep it as long as a proof with its iat could be accepted."""
        if not self.seen.first_use(jti, iat + PROOF_SECONDS + LEEWAY_SECONDS):
            raise fail("invalid_dpop_proof", "This DPoP proof (its jti) was already used: make a fresh proof "
                       "for every request (RFC 9449 section 11.1).")


def _canonical_members(jwk: dict) -> bool:
    """Whether the key members of a public JWK are in their one canonical form (RFC 7518 §6.2.1, §6.3.1).

    Unpadded base64url (RFC 7515 §2) whose unused bits are zero (it re-encodes to itself); an EC
    coordinate exactly the curve's size; an RSA integer in its fewest octets (Base64urlUInt, RFC 7518
    §2: no leading zero octet). PyJWT accepts "AAEAAQ" for e and a padded or suffixed x; each would
    give the same key another thumbprint, so a token bound to one thumbprint would not match.
    """
    decoded = {}
    for name in THUMBPRINT_MEMBERS[jwk["kty"]]:
        if name in ("kty", "crv"):
            continue
        value = jwk[name]
        if not BASE64URL.fullmatch(value) or len(value) % 4 == 1:
            return False
        octets = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if _b64url(octets) != value:
            return False
        decoded[name] = octets
    if jwk["kty"] == "EC":
        size = EC_COORDINATE_BYTES.get(jwk.get("crv"))
        return size is not None and len(decoded["x"]) == len(decoded["y"]) == size
    return all(octets[0] != 0 for octets in decoded.values())


def _normalized(url: str) -> tuple[str, str, str] | None:
    """Scheme, authority and path of `url` after RFC 3986 §6.2.2 and §6.2.3 normalisation; None if it is not
    an absolute URL of printable ASCII. Its query and fragment are dropped (RFC 9449 §4.3 point 9).

    §6.2.2: scheme and host in lower case, percent-encodings in upper case, and those of unreserved
    characters decoded (`/%72eports` is `/reports`), dot segments removed (§5.2.4). §6.2.3: the
    default port and an empty port left out (`https://host:443/x` and `https://host:/x` are
    `https://host/x`), an empty path is "/". A regular expression, not `urlsplit`, which silently
    drops TAB, CR and LF: "/m\te" must not become "/me".
    """
    match = URL.fullmatch(url)
    if match is None:
        return None
    scheme, authority, path = match[1].lower(), match[2], match[3] or "/"
    userinfo, at, host_port = authority.rpartition("@")
    if host_port.startswith("["):
        host, bracket, port = host_port.partition("]")
        host += bracket
        if not bracket or port and not port.startswith(":"):
            return None
        port = port[1:]
    else:
        host, _, port = host_port.partition(":")
    if not host or not port.isdigit() and port != "" or ":" in port:
        return None
    default_port = {"https": 443, "http": 80}.get(scheme)
    port = "" if port == "" or int(port) == default_port else f":{int(port)}"
    parts = [_percent_normalized(part) for part in (userinfo, host, path)]
    if None in parts:
        return None
    userinfo, host, path = parts
    return scheme, userinfo + at + host.lower() + port, _remove_dot_segments(path)


def _percent_normalized(text: str) -> str | None:
    """Upper-case percent-encodings, unreserved characters decoded (RFC 3986 §6.2.2.1-2); None for a lone %."""
    def one(match: re.Match) -> str:
        character = chr(int(match[1], 16))
        return character if UNRESERVED.fullmatch(character) else "%" + match[1].upper()

    normalized = PERCENT.sub(one, text)
    return None if "%" in PERCENT.sub("", text) else normalized


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, for an absolute path: "/a/./b/../c" is "/a/c"."""
    output: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)

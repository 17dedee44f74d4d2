"""Checks for notebook 09, machine to machine: a client assertion and a DPoP proof, made by hand.

Neither check calls the API. Each makes a fresh EC P-256 key of its own (a millisecond), hands it to
the learner's function, and reads what comes back with PyJWT, by the rules the practice API applies
(helpers/practice_api/client_assertions.py and dpop.py), so that the verdict does not depend on a
server that might be more lenient than the RFC. One rule is stricter than the server's: an assertion
may live 5 minutes here, where the server allows an hour (for Authlib's default): it is used at once.
"""
from __future__ import annotations

import base64
import hashlib
import math
import time
from typing import Any
from urllib.parse import urlsplit

from helpers.client.dpop import htu as _htu
from helpers.client.dpop import jwk_thumbprint as _thumbprint
from helpers.checks.feedback import not_a_function, not_yet, placeholder, raised, right, run, unless_stub
from helpers.practice_api.clock import is_numeric_date

__all__ = ["client_assertion", "dpop_proof"]

ISSUER = "https://api.practice.test"
MAX_ASSERTION_SECONDS = 300  # stricter than the practice API (1 h, for Authlib): an assertion is used at once
LEEWAY_SECONDS = 5  # as the practice API: an iat or nbf at most 5 s ahead of its clock (clock skew)
PROOF_SECONDS = 60  # as the practice API: a DPoP proof's iat at most 60 s old (RFC 9449 §11.1)
MIN_JTI_CHARS = 16  # 96 bits and more of randomness, base64url: RFC 9449 §4.2, RFC 7519 §4.1.7
MIN_JTI_BITS = 96  # RFC 9449 §4.2: "at least 96 bits of pseudorandom data", or a UUID v4
EXTRA_CALLS = 4  # more calls than the cases need, so that a predictable jti shows
# The typ values the practice API accepts on a client assertion, lower-cased (rfc7523bis-11 §4: SHOULD be
# client-authentication+jwt; absent or JWT for the libraries that send that; RFC 7515 §4.1.9 media type).
ASSERTION_TYPS = {None, "jwt", "client-authentication+jwt", "application/client-authentication+jwt"}
# RFC 9449 §4.2: dpop+jwt. The server accepts the full media type too (RFC 7515 §4.1.9), so the check does.
PROOF_TYPS = {"dpop+jwt", "application/dpop+jwt"}


def client_assertion(function: Any) -> None:
    """09, exercise 1: `make_client_assertion(client_id, metadata, private_key_pem, now)` -> a JWT.

    Right: ES256 signed by the key; typ absent, JWT or client-authentication+jwt (rfc7523bis-11 §4 says
    SHOULD be the last); iss = sub = client_id; aud = metadata["issuer"], as a string (its sole value,
    draft-ietf-oauth-rfc7523bis-11 §4; a string, not [issuer], as FAPI 2.0 asks); exp after now and at
    most 5 minutes later; iat (if sent) and nbf (if sent) not in the future; every time a NumericDate as
    the server reads it; a fresh, unpredictable jti each call (RFC 7523 §3, OpenID Connect Core §9).
    """
    if placeholder(unless_stub(function)) or not_a_function(
            function, "checks.client_assertion(make_client_assertion)", results=(str, bytes)):
        return
    import jwt

    pem, public = _new_key()
    now = int(time.time()) - 1000  # not the real clock: a function that ignores `now` shows
    cases = [("reports-signer", ISSUER), ("another-client", "https://login.practice.test/tenant-7")]
    seen_jti: set = set()
    for index, (client_id, issuer) in enumerate(cases):
        metadata = {"issuer": issuer, "token_endpoint": issuer + "/oauth/token",
                    "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"]}
        described = f"client {client_id!r} of the issuer {issuer}"
        for attempt in range(2 + (EXTRA_CALLS if index == 0 else 0)):
            outcome = run(function, client_id, dict(metadata), pem, now)
            if outcome.error is not None:
                return not_yet(raised(f"{described}", outcome.error))
            problem = _assertion_problem(jwt, outcome.value, public, client_id, metadata, now, seen_jti)
            if problem:
                return not_yet(f"for {described}: {problem}")
    weak = _weak_jti(seen_jti)
    if weak:
        return not_yet(weak)
    right("a short-lived ES256 assertion with iss = sub = your client_id, the issuer alone as aud (the "
          "rfc7523bis rule; check your provider's docs, some still ask for the token endpoint), and a new "
          "jti every time: a stolen one is refused within minutes, and a replayed one at once.")


def _assertion_problem(jwt, token: Any, public, client_id: str, metadata: dict, now: int, seen_jti: set) -> str:
    """'' for a right assertion; else what to change."""
    if isinstance(token, bytes):
        token = token.decode("ascii", "replace")
    if not isinstance(token, str) or token.count(".") != 2:
        return f"return the signed JWT as a string (jwt.encode(...) gives one), not {type(token).__name__}."
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, public, algorithms=["ES256"], options={"verify_signature": True,
                            "verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False})
    except jwt.InvalidTokenError as error:
        alg = _header_alg(jwt, token)
        if alg != "ES256":
            return (f"it is signed with alg {alg!r}. Sign with the private key you were given, algorithm "
                    "ES256: the server accepts only the algorithms its metadata lists "
                    "(token_endpoint_auth_signing_alg_values_supported), and never 'none'.")
        return f"its signature does not verify with the client's public key ({type(error).__name__})."
    typ = header.get("typ")
    if (typ.lower() if isinstance(typ, str) else typ) not in ASSERTION_TYPS:
        return (f"its typ is {typ!r}. A client assertion is explicitly typed client-authentication+jwt "
                "(draft-ietf-oauth-rfc7523bis-11 §4: SHOULD), or says JWT or nothing; another typ (dpop+jwt, "
                "at+jwt) is another kind of JWT, and the server refuses it (RFC 8725 §3.11).")
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        return (f"iss and sub must both be the client_id ({client_id!r}): the client is both who issued the "
                f"assertion and who it is about (RFC 7523 §3 items 1 and 2). Got iss {claims.get('iss')!r}, "
                f"sub {claims.get('sub')!r}.")
    aud = claims.get("aud")
    if isinstance(aud, list) and aud != [metadata["issuer"]]:
        return ("aud is an array with more than the issuer. draft-ietf-oauth-rfc7523bis-11 §4: the aud MUST be the "
                "authorization server's issuer identifier as its sole value, and the server MUST reject anything "
                "else (the audience-injection fix). Use aud=metadata['issuer'].")
    if isinstance(aud, list):
        return ("aud is the array [issuer]. rfc7523bis-11 §4 allows it, but send the plain string: FAPI 2.0 asks "
                "clients for a string, and servers written to the earlier drafts refuse a one-element array. "
                "Use aud=metadata['issuer'].")
    if aud == metadata["token_endpoint"]:
        return ("aud is the token endpoint URL. RFC 7523 §3 allowed it, but after the audience-injection attack "
                "draft-ietf-oauth-rfc7523bis-11 §4 says the audience MUST be the issuer identifier alone, and "
                "the server MUST refuse anything else: aud=metadata['issuer'].")
    if aud != metadata["issuer"]:
        return f"aud is {aud!r}; it must be the authorization server's issuer identifier, metadata['issuer']."
    exp = claims.get("exp")
    if exp is None:
        return ("there is no exp. Without one the assertion works forever for whoever copies it from a log: "
                "exp is REQUIRED (RFC 7523 §3 item 4). Make it now + 60 to 300 seconds.")
    for name in ("exp", "iat", "nbf"):
        if name in claims and not is_numeric_date(claims[name]):
            return (f"{name} is {str(claims[name])[:20]!r}: it must be a NumericDate, a number of seconds since "
                    "1970 (RFC 7519 §2): an int or a finite float, as the server reads it.")
    iat = claims.get("iat")
    if iat is not None and abs(iat - now) > LEEWAY_SECONDS:
        return ("iat is not the `now` you were given: count iat and exp from it. The server's clock decides: it "
                f"refuses an iat more than {LEEWAY_SECONDS} s in its future (its clock-skew tolerance; RFC 7523 "
                "§3 item 6 also lets it refuse one unreasonably far in the past).")
    if "nbf" in claims and claims["nbf"] > now + LEEWAY_SECONDS:
        return ("nbf is in the future: the server refuses the assertion as not valid yet (RFC 7523 §3 item 5). "
                "Leave nbf out, or make it `now`.")
    if exp <= now:
        return "exp is not after `now`: the server refuses it as expired. Count from the `now` you were given."
    if exp - now > MAX_ASSERTION_SECONDS:
        return (f"it lives {int(exp - now)} s. A client assertion is used once, right away: keep it short "
                f"(at most {MAX_ASSERTION_SECONDS} s here; RFC 7523 §3 item 4 lets a server refuse a long one), so "
                "that a copy is soon useless.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        return ("there is no jti. The server remembers each jti until exp and refuses it a second time, which "
                "stops a replay (RFC 7523 §3 item 7; REQUIRED in OpenID Connect Core §9): "
                "jti=secrets.token_urlsafe(16).")
    if len(jti) < MIN_JTI_CHARS:
        return (f"the jti {jti!r} is short enough to guess or to repeat by chance. Use 16 random bytes or more: "
                "secrets.token_urlsafe(16).")
    if jti in seen_jti:
        return ("two calls gave the same jti. Each assertion needs a new one: the server refuses a jti it has "
                "seen, so the second token request would fail (and a fixed jti is no defence against replay).")
    seen_jti.add(jti)
    if "jwk" in header or "d" in claims:
        return "the assertion carries key material. Send only kid (if any) in the header: the server has the key."
    return ""


def dpop_proof(function: Any) -> None:
    """09, exercise 2: `make_dpop_proof(private_key, method, url, access_token=None, nonce=None)` -> a JWT.

    Right (RFC 9449 §4.2): typ dpop+jwt, alg ES256, the PUBLIC jwk of the key it signed with; htm the
    method; htu the URL without query and fragment; iat now; a new jti per call; ath = base64url
    SHA-256 of the access token when one is given (none without); nonce when one is given. iat as the
    server reads it: a NumericDate at most 5 s ahead and 60 s behind; jti with 96 random bits or more.
    """
    if placeholder(unless_stub(function)) or not_a_function(
            function, "checks.dpop_proof(make_dpop_proof)", results=(str, bytes)):
        return
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    token, other_token = "practice-dpop-token-" + "A" * 24, "practice-dpop-token-" + "B" * 24
    cases = [  # described, (method, url, access_token, nonce), what the claims must be
        ("GET https://api.practice.test/me?page=2#top with an access token",
         ("GET", "https://api.practice.test/me?page=2#top", token, None)),
        ("the same request again", ("GET", "https://api.practice.test/me?page=2#top", token, None)),
        ("POST https://api.practice.test/reports with another access token",
         ("POST", "https://api.practice.test/reports", other_token, None)),
        ("the token request, POST https://api.practice.test/oauth/token (no access token yet)",
         ("POST", "https://api.practice.test/oauth/token", None, None)),
        ("GET https://api.practice.test/me with the server's nonce 'n-42'",
         ("GET", "https://api.practice.test/me", token, "n-42")),
        ("GET https://api.practice.test/me#top (a fragment, no query)",
         ("GET", "https://api.practice.test/me#top", token, None)),
    ] + [("the same request again", ("GET", "https://api.practice.test/me", token, None))] * EXTRA_CALLS
    seen = set()
    for described, (method, url, access_token, nonce) in cases:
        outcome = run(function, key, method, url, access_token, nonce, secrets=(token, other_token))
        if outcome.error is not None:
            return not_yet(raised(described, outcome.error, hide=(token, other_token)))
        problem = _proof_problem(jwt, outcome.value, key, method, url, access_token, nonce, seen)
        if problem:
            return not_yet(f"for {described}: {problem}")
    weak = _weak_jti(seen_jtis(seen))
    if weak:
        return not_yet(weak)
    right("a new proof per request, signed by the key whose public half it carries, for this method and URL "
          "(no query, no fragment), with ath binding it to the token it travels with, and the server's nonce.")


def _proof_problem(jwt, proof: Any, key, method: str, url: str, access_token: str | None, nonce: str | None,
                   seen: set) -> str:
    if isinstance(proof, bytes):
        proof = proof.decode("ascii", "replace")
    if not isinstance(proof, str) or proof.count(".") != 2:
        return f"return the proof JWT as a string (jwt.encode(...) gives one), not {type(proof).__name__}."
    if proof in seen:
        return ("it returned a proof it had returned before. A proof is for one request only: the server keeps "
                "the jti it has seen and refuses a replay (RFC 9449 §11.1). Make a new one, with a "
                "new jti, every time.")
    seen.add(proof)
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.InvalidTokenError:
        return "its header is not valid JSON in base64url."
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        return ("the header has no jwk. The server learns the public key from the proof itself: "
                "headers={'typ': 'dpop+jwt', 'jwk': <the public JWK>} (RFC 9449 §4.2).")
    private = sorted(set(jwk) & {"d", "p", "q", "dp", "dq", "qi", "k"})
    if private:
        return (f"the jwk in the header holds the PRIVATE key ({', '.join(private)}): anyone who sees one proof "
                "can sign their own. It MUST NOT contain a private key (RFC 9449 §4.2). Export the public key: "
                "ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True).")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in PROOF_TYPS:
        return (f"typ is {typ!r}. A DPoP proof says typ 'dpop+jwt' (RFC 9449 §4.2), so that no other "
                "JWT can pass for one.")
    if header.get("alg") != "ES256":
        return f"alg is {header.get('alg')!r}: sign with the EC key you were given, algorithm ES256."
    try:
        claims = jwt.decode(proof, jwt.PyJWK(jwk, algorithm="ES256"), algorithms=["ES256"],
                            options={"verify_iat": False, "verify_exp": False, "verify_nbf": False})
    except (jwt.InvalidTokenError, jwt.PyJWKError, ValueError) as error:
        return f"its signature does not verify with the jwk in its header ({type(error).__name__})."
    if jwk.get("kty") != "EC" or _thumbprint(jwk) != _thumbprint(_public_jwk(key)):
        return ("the jwk in the header is not the public half of the key you were given: the token is bound to "
                "that key's thumbprint (cnf.jkt, RFC 9449 §6), so the server refuses this proof.")
    if claims.get("htm") != method:
        return f"htm is {claims.get('htm')!r}; it must be the request's method, {method!r} (RFC 9449 §4.2)."
    want_htu = _htu(url)
    if claims.get("htu") != want_htu:
        got = claims.get("htu")
        if isinstance(got, str) and (urlsplit(got).query or urlsplit(got).fragment or "#" in got):
            return (f"htu {got!r} keeps the query or the fragment. htu is the URL *without* query and fragment "
                    f"(RFC 9449 §4.2): {want_htu!r}. The query may hold values the server logs.")
        return f"htu is {got!r}; it must be the request's URL without query and fragment: {want_htu!r}."
    iat, now = claims.get("iat"), time.time()
    if not is_numeric_date(iat) or not now - PROOF_SECONDS <= iat <= now + LEEWAY_SECONDS:
        return (f"iat must be now, int(time.time()): the server accepts a proof only from {PROOF_SECONDS} s before "
                f"to {LEEWAY_SECONDS} s after its own clock (RFC 9449 §4.3 point 11, §11.1).")
    jti = claims.get("jti")
    if not isinstance(jti, str) or len(jti) < MIN_JTI_CHARS:
        return ("jti must be a new random string of 16 bytes or more for every proof (secrets.token_urlsafe(16)): "
                "the server refuses one it has seen (RFC 9449 §4.2, §11.1).")
    if ("jti", jti) in seen:
        return "two proofs share a jti. The server refuses the second as a replay: a new jti for every proof."
    seen.add(("jti", jti))
    if access_token is None and "ath" in claims:
        return "with no access token there is nothing to hash: leave ath out (the token request has none)."
    if access_token is not None:
        want = _b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        if "ath" not in claims:
            return ("there is no ath. A proof that goes with an access token MUST carry ath, the base64url SHA-256 "
                    "of the token (RFC 9449 §4.2): without it, a proof captured with one token works with another.")
        if claims["ath"] != want:
            return ("ath is not the hash of this request's access token: base64url (no padding) of "
                    "hashlib.sha256(access_token.encode('ascii')).digest() (RFC 9449 §4.2).")
    if nonce is not None and claims.get("nonce") != nonce:
        return (f"the server gave the nonce {nonce!r}, and the proof does not carry it: put it in the claims as "
                "nonce, or the server answers use_dpop_nonce again (RFC 9449 §8, §9).")
    if nonce is None and "nonce" in claims:
        return "no nonce was given, yet the proof has one: send a nonce only when the server gave it."
    return ""


def _header_alg(jwt, token: str) -> Any:
    try:
        return jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError:
        return None


def _new_key():
    """A fresh EC P-256 key: its PKCS #8 PEM (what a key file holds) and its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode("ascii")
    return pem, key.public_key()


def _public_jwk(key) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"crv": "P-256", "kty": "EC", "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big"))}


def seen_jtis(seen: set) -> set:
    """The jtis among the proofs and jtis `_proof_problem` has recorded."""
    return {item[1] for item in seen if isinstance(item, tuple)}


def _weak_jti(jtis: set) -> str:
    """'' if the jtis look like 96 random bits or more (RFC 9449 §4.2); else what to change.

    An estimate from several jtis of one solution: the part that differs between them (what is left
    after their common prefix and suffix), times the bits per character of the alphabet it uses. A
    clock (time.time_ns()), a counter or a few random digits give far fewer bits than a base64url or
    hex string of 16 random bytes, or a UUID v4.
    """
    values = sorted(jtis)
    if len(values) < 2:
        return ""
    prefix = len(_common_prefix(values))
    suffix = len(_common_prefix([value[::-1] for value in values]))
    varying = [value[prefix:len(value) - suffix] if suffix < len(value) - prefix else "" for value in values]
    characters = set("".join(varying))
    alphabet = 10 if characters <= set("0123456789") else 16 if characters <= set("0123456789abcdefABCDEF-") else 64
    bits = min(len(part) for part in varying) * math.log2(alphabet)
    if bits >= MIN_JTI_BITS:
        return ""
    return (f"the jtis of {len(values)} calls differ in about {int(bits)} bits only (e.g. {values[0][:24]!r}): a "
            "clock, a counter or a few random digits can be guessed, and a guessed jti can be used up first. Use "
            f"at least {MIN_JTI_BITS} random bits: secrets.token_urlsafe(16) (RFC 9449 §4.2, RFC 7519 §4.1.7).")


def _common_prefix(values: list[str]) -> str:
    first, last = min(values), max(values)
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

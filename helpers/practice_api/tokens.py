"""The server's side of bearer tokens: issuing JWTs, rotating refresh tokens, verifying.

Read this next to notebook 03.

Issuing (`/login`, `/oauth/token`): an access token is a JWT access token as RFC 9068
defines it: typed `at+jwt`, signed with RS256 and the key named by `kid`, living 5 minutes,
naming its issuer, audience, subject and client. A refresh token is an opaque random string; the
server stores only its hash. Each refresh token belongs to a *family* (one login). Using
a refresh token spends it and returns a new one (rotation). Presenting a spent one again
means two parties hold it, so the whole family is revoked (RFC 9700 §4.14.2).

Verifying (`/me`): the header first (`alg`, `kid`, `typ`, no `crit`), then PyJWT with a
fixed algorithm list, `aud`, `iss` and the claims RFC 9068 §2.2 requires, then expiry and
revocation. Each refusal says why, in the RFC 6750 §3 challenge. The demo signing key is
public, so anyone can sign a token holding anything: every header and claim is checked for
its type too, and a malformed one gets 401 invalid_token, never a 500.

Introspecting (`/oauth/introspect`, RFC 7662): the same checks, for a resource server
that asks instead of verifying itself. A JWT stays valid until `exp` unless the API
keeps a deny list or asks the issuer: this is how it asks. Only access tokens are ever
active there: a refresh token is for the authorization server alone (RFC 6749 §1.5).
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

import jwt

from helpers.practice_api import demo, signing_key
from helpers.practice_api.binding import CONFIRMATION
from helpers.practice_api.clock import Clock, is_numeric_date
from helpers.practice_api.wsgi import HTTPError, authorization_parts, printable

ISSUER = demo.BASE_URL  # the in-process API's; on loopback it is the server's URL
AUDIENCE = ISSUER + "/me"
# Another API this issuer serves: a token for it must not open /me (RFC 8707 resource indicators).
NOTES_API = "https://notes.practice.test"
ALGORITHMS = ["RS256"]  # fixed: never read the algorithm from the token itself
ACCESS_TOKEN_TYPE = "at+jwt"  # the JWT `typ` of an access token (RFC 9068 §2.1)
# What `typ` may say: a media type, compared without case, "application/" optional (RFC 7515 §4.1.9).
ACCESS_TOKEN_TYPES = {ACCESS_TOKEN_TYPE, "application/" + ACCESS_TOKEN_TYPE}
# The client of tokens from /login. RFC 9068 §2.2 requires `client_id` in every JWT access token;
# /login is the practice API's own sign-in (a first-party app posting the user's password), not an
# OAuth client, so its tokens name this first-party client. It is registered nowhere and has no
# secret: nobody can authenticate as it at /oauth/token. Its refresh tokens are spent, and its access
# tokens revoked, without client authentication, as for any token of a public client.
LOGIN_CLIENT_ID = "practice-login"
ACCESS_TOKEN_SECONDS = 300
REFRESH_TOKEN_SECONDS = 24 * 3600
LEEWAY_SECONDS = 5  # tolerated clock difference between servers
REALM = "practice"
MAX_TOKEN_LENGTH = 4096
REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")  # RFC 9068 §2.2
MALFORMED_HEADER = ("The token's header is malformed: kid must be a string, and this API understands no "
                    "critical extension (crit).")


@dataclass
class RefreshToken:
    family: str
    subject: str
    scope: str
    audience: str
    client_id: str | None  # None for tokens from /login, which has no OAuth client
    expires_at: float
    spent: bool = False
    jkt: str | None = None  # issued with a DPoP proof: refreshed only with the same key (RFC 9449 §5)


@dataclass
class Family:
    """Everything issued from one login, so that it can be revoked together."""

    revoked: bool = False
    access_token_ids: list[str] = field(default_factory=list)
    expires_at: float = 0.0  # when its last access token expires: until then it may have to be revoked


class TokenService:
    def __init__(self, clock: Clock, issuer: str = ISSUER) -> None:
        self.clock = clock
        self.issuer = issuer
        self.audience = issuer + "/me"
        self.resources = {self.audience, NOTES_API}
        self.refresh_tokens: dict[str, RefreshToken] = {}  # sha256(token) -> record
        self.families: dict[str, Family] = {}
        # jti -> exp of each revoked access token: kept only until the token has expired anyway.
        self.revoked_access_tokens: dict[str, float] = {}
        # The kids in /.well-known/jwks.json, oldest first, and the one that signs (see `publish_signing_key`).
        self.published_kids: list[str] = [signing_key.KEY_ID]
        self.retired_kids: list[str] = []
        self.signing_kid: str = signing_key.KEY_ID
        self._lock = threading.Lock()

    # -- keys -------------------------------------------------------------------------
    #
    # A rotation has three steps, each its own call, because verifiers cache the JWKS. The JWKS is
    # served with max-age=300 (`wsgi.PUBLISHED_MAX_AGE`), and PyJWKClient (PyJWT >= 2.14) refetches it for an
    # unknown kid only if its last fetch is older than `cooldown_duration` (30 s by default): a token
    # signed with a key published a moment ago is refused by a verifier that fetched just before.
    #   1. `publish_signing_key()`: the new key joins the JWKS; tokens are still signed with the old one.
    #   2. once every verifier can have fetched the new JWKS (max-age, and the cooldown, have passed):
    #      `sign_with(new_kid)`. Tokens signed with the old key keep working.
    #   3. once the old key's last tokens have expired: `retire_signing_key(old_kid)`.

    def jwks(self) -> dict:
        """The public half of every published signing key, as a JWK Set (RFC 7517 §5)."""
        keys = []
        for kid in list(self.published_kids):
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.private_key(kid).public_key(), as_dict=True)
            jwk.pop("key_ops", None)  # "use" says the same; RFC 7517 §4.3 says not to send both
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def sign(self, claims: dict, typ: str) -> str:
        """`claims` as a JWT signed RS256 with the current key, its `kid` and this `typ` in the header.

        `typ` tells one kind of token from another signed with the same key (RFC 8725 §3.11): `at+jwt`
        for an access token (RFC 9068 §2.1), `JWT` for an ID token (see `oidc.py`). The kid is read once
        and its own key loaded, so a `sign_with` meanwhile cannot pair one key with the other's kid.
        """
        kid = self.signing_kid
        return jwt.encode(claims, signing_key.private_key(kid), algorithm="RS256", headers={"kid": kid, "typ": typ})

    def publish_signing_key(self) -> str:
        """Put the next demo key in the JWKS and return its kid. Tokens are still signed with the old key.

        Step 1 of a rotation (see above): call `sign_with(kid)` only once verifiers can have
        fetched the new JWKS. The practice API ships two keys (none is generated at run time, it
        would be slow): one rotation per API.
        """
        with self._lock:
            used = {*self.published_kids, *self.retired_kids}
            unused = [kid for kid in signing_key.PEMS if kid not in used]
            if not unused:
                raise RuntimeError("The practice API ships two demo signing keys and both were used: start a new "
                                   "practice API to rotate again.")
            self.published_kids.append(unused[0])
            return unused[0]

    def sign_with(self, kid: str) -> None:
        """Sign new tokens with the published key `kid` (step 2 of a rotation, see above)."""
        with self._lock:
            if kid not in self.published_kids:
                raise KeyError(f"No published signing key {kid!r}: publish_signing_key() first; the JWKS holds "
                               f"{self.published_kids}.")
            self.signing_kid = kid

    def retire_signing_key(self, kid: str) -> None:
        """Take `kid` out of the JWKS: tokens it signed fail from now on. Never the key that signs now."""
        with self._lock:
            if kid not in self.published_kids:
                raise KeyError(f"No published signing key {kid!r}; the JWKS holds {self.published_kids}.")
            if kid == self.signing_kid:
                raise ValueError(f"{kid!r} signs new tokens: sign_with() another published key first, then "
                                 "retire this one.")
            self.published_kids.remove(kid)
            self.retired_kids.append(kid)  # never published again: a retired key may have leaked

    # -- issuing ----------------------------------------------------------------------

    def issue(self, subject: str, scope: str, *, audience: str | None = None, family: str | None = None,
              client_id: str | None = None, refresh: bool = True) -> dict:
        """A token response (RFC 6749 §5.1): a new access token, and a new refresh token if `refresh`.

        `family` groups every token of one login or one authorization, to revoke them together.
        `client_id` is the OAuth client the tokens are for; None means /login (`LOGIN_CLIENT_ID`).
        A `CONFIRMATION` set for this request binds the access token (and, for DPoP, the refresh token).
        """
        now = int(self.clock.now())
        cnf = CONFIRMATION.get()
        family = family or uuid.uuid4().hex
        jti = uuid.uuid4().hex
        # The claims RFC 9068 §2.2 requires, and the scope granted (§2.2.3).
        claims = {"iss": self.issuer, "aud": audience or self.audience, "sub": subject,
                  "client_id": client_id or LOGIN_CLIENT_ID, "iat": now, "exp": now + ACCESS_TOKEN_SECONDS,
                  "scope": scope, "jti": jti, **({"cnf": cnf} if cnf else {})}
        access_token = self.sign(claims, ACCESS_TOKEN_TYPE)
        # A DPoP-bound token is of type DPoP (RFC 9449 §5); one bound to a certificate stays Bearer (RFC 8705 §3).
        token_type = "DPoP" if cnf and "jkt" in cnf else "Bearer"
        response = {"access_token": access_token, "token_type": token_type, "expires_in": ACCESS_TOKEN_SECONDS,
                    "scope": scope}
        with self._lock:
            self._purge(now)
            entry = self.families.setdefault(family, Family())
            if entry.revoked:
                # The family was revoked after the caller checked it (a replayed code or refresh
                # token arrived meanwhile): nothing may be issued into it, or the new token would
                # escape the revocation.
                raise _invalid_grant("This grant was revoked while the tokens were being issued. Log in again.")
            entry.access_token_ids.append(jti)
            entry.expires_at = max(entry.expires_at, claims["exp"])
            if refresh:
                response["refresh_token"] = secrets.token_urlsafe(32)
                self.refresh_tokens[_digest(response["refresh_token"])] = RefreshToken(
                    family, subject, scope, claims["aud"], client_id, now + REFRESH_TOKEN_SECONDS,
                    jkt=cnf.get("jkt") if cnf else None)
        return response

    def refresh(self, refresh_token: str, client_id: str | None = None, scope: str | None = None) -> dict:
        """Spend a refresh token for a new pair (rotation), or raise HTTPError invalid_grant.

        `client_id` is the authenticated client: a refresh token works only for the client it was
        issued to (RFC 6749 §6).
        """
        with self._lock:
            record = self.refresh_tokens.get(_digest(refresh_token))
            if record is None:
                raise _invalid_grant("The refresh token is not known.")
            if record.jkt is not None and (CONFIRMATION.get() or {}).get("jkt") != record.jkt:
                # RFC 9449 §5: a refresh token issued with DPoP works only with a proof of the same key.
                # Checked first: a request without the key learns nothing more about the token (spent,
                # revoked, expired, whose) and changes nothing; a thief replaying a spent copy without
                # the key cannot get the victim's family revoked here (RFC 9700 §4.14.2 is for whoever
                # holds it). /oauth/revoke is the exception: it takes no proof (see `revoke`).
                raise HTTPError(400, "invalid_dpop_proof", "This refresh token is bound to a DPoP key: send a DPoP "
                                "proof signed with that key (RFC 9449 section 5).")
            if record.client_id != client_id:
                issued_to = "an OAuth client: send its client_id, or authenticate it" if client_id is None \
                    else "another client"
                raise _invalid_grant(f"This refresh token was issued to {issued_to}.")
            family = self.families[record.family]
            if family.revoked:
                raise _invalid_grant("This refresh token was revoked. Log in again.")
            if record.spent:
                # A spent token came back: someone else has a copy. Revoke everything from this login.
                self._revoke(family)
                raise _invalid_grant("This refresh token was already used, so it may have been stolen: every token "
                                     "from this login is now revoked. Log in again.")
            if record.expires_at <= self.clock.now():
                raise _invalid_grant("The refresh token has expired. Log in again.")
            if scope is not None and not set(scope.split(" ")) <= set(record.scope.split(" ")):
                # RFC 6749 §6: a refresh may narrow the scope, never widen it.
                raise HTTPError(400, "invalid_scope", f"A refresh can ask only for scopes first granted: {record.scope}.")
            record.spent = True
            # Until the new pair is issued, the family has no live refresh token: it must outlive any
            # purge meanwhile (it will hold this access token), or a replay's revocation could be forgotten.
            family.expires_at = max(family.expires_at, self.clock.now() + ACCESS_TOKEN_SECONDS)
        issued = self.issue(record.subject, scope or record.scope, audience=record.audience, family=record.family,
                            client_id=record.client_id)
        # The new refresh token keeps the original grant, so a later refresh may widen back to it.
        self.refresh_tokens[_digest(issued["refresh_token"])].scope = record.scope
        return issued

    def revoke_family(self, family: str) -> None:
        """Revoke every token of one login or authorization."""
        with self._lock:
            # Kept a while even if nothing was issued into it yet: an exchange already under way must
            # find it revoked (see `issue`).
            entry = self.families.setdefault(family, Family(expires_at=self.clock.now() + ACCESS_TOKEN_SECONDS))
            self._revoke(entry)

    def _revoke(self, entry: Family) -> None:
        """Mark `entry` revoked and deny its access tokens until they expire. Call with the lock held."""
        entry.revoked = True
        for jti in entry.access_token_ids:
            self.revoked_access_tokens[jti] = entry.expires_at

    def purge(self) -> None:
        """Forget what can no longer matter (see `_purge`); for the OAuth server, before it purges codes."""
        with self._lock:
            self._purge(self.clock.now())

    def _purge(self, now: float) -> None:
        """Forget what can no longer matter, so that a server running for days does not grow.

        A family lives as long as it can still produce a working token: an unspent refresh token
        that has not expired, or an access token that has not (with the leeway `check_access_token`
        allows). Rotation keeps it alive for as long as it is used, long after its first refresh token
        expired; so its spent refresh tokens are kept as long as the family, for a replay of any of
        them to revoke it (RFC 9700 §4.14.2), and go with it. An expired unspent refresh token is
        dropped at once (it is then refused as unknown instead of as expired), and a revoked jti once
        its token has expired. Call with the lock held.
        """
        alive = {record.family for record in self.refresh_tokens.values()
                 if not record.spent and record.expires_at > now}
        for name in [n for n, entry in self.families.items()
                     if n not in alive and entry.expires_at + LEEWAY_SECONDS < now]:
            del self.families[name]
        for digest in [d for d, record in self.refresh_tokens.items() if record.family not in self.families
                       or not record.spent and record.expires_at <= now]:
            del self.refresh_tokens[digest]
        for jti in [j for j, exp in self.revoked_access_tokens.items() if exp + LEEWAY_SECONDS < now]:
            del self.revoked_access_tokens[jti]

    def revoke(self, token: str, client_id: str | None, unrevocable: Collection[str] = ()) -> None:
        """RFC 7009: revoke a refresh token (with its whole family) or an access token.

        Unknown and invalid tokens are ignored: the client's goal, a token that no longer
        works, is reached either way (RFC 7009 §2.2). A client may revoke only its own tokens.
        `unrevocable`: the client_ids that no client can authenticate as (service accounts, RFC 7523
        §3.1): their tokens are refused with a reason, and live out their ACCESS_TOKEN_SECONDS.

        No DPoP proof is asked, even for a DPoP-bound refresh token (RFC 7009 defines none, nor does
        RFC 9449): whoever holds a public client's refresh token, its key or not, can revoke it and
        its family, as RFC 7009 §2.1 allows for public clients. That ends the victim's access; it
        never gives the holder any (a refresh needs the key, see `refresh`).
        """
        record = self.refresh_tokens.get(_digest(token))
        if record is not None:
            if record.client_id != client_id:
                raise HTTPError(400, "unauthorized_client", _not_yours(client_id))
            self.revoke_family(record.family)
            return
        try:  # an access token: trust its jti only once the signature is checked; expired or not
            claims = self._signed_claims(token, audience=None)
        except HTTPError:
            return
        if claims["client_id"] in unrevocable:
            raise HTTPError(400, "unauthorized_client", UNREVOCABLE)
        if claims["client_id"] != (client_id or LOGIN_CLIENT_ID):
            raise HTTPError(400, "unauthorized_client", _not_yours(client_id))
        with self._lock:
            self.revoked_access_tokens[claims["jti"]] = claims["exp"]

    # -- verifying --------------------------------------------------------------------

    def check_access_token(self, token: str, audience: str | list[str], leeway: float = LEEWAY_SECONDS) -> dict:
        """The claims of `token` if it is a valid, unexpired, unrevoked access token for `audience`
        (one of them, for a list), or raise HTTPError invalid_token saying why.

        `leeway` tolerates another server's clock; the issuer itself, introspecting, needs none.
        """
        claims = self._signed_claims(token, audience)
        now = self.clock.now()
        if claims["exp"] <= now - leeway:
            raise _invalid_token("The token has expired (its exp is in the past). Refresh it.")
        if claims["iat"] > now + leeway:
            raise _invalid_token("The token was issued in the future.")
        if "nbf" in claims and claims["nbf"] > now + leeway:  # RFC 7519 §4.1.5
            raise _invalid_token("The token is not valid yet (its nbf is in the future).")
        if claims["jti"] in self.revoked_access_tokens:
            raise _invalid_token("The token was revoked.")
        return claims

    def _signed_claims(self, token: str, audience: str | list[str] | None) -> dict:
        """The claims of `token` once its header, signature, issuer, audience (None: any) and the
        types of its claims are checked, times and revocation aside; or raise HTTPError invalid_token.

        The header is checked first, then the signature with the algorithm and key this API chose:
        nothing in the token chooses them (RFC 8725 §3.1).
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise _invalid_token("The token is not a JWT (three base64url parts separated by dots).") from None
        except jwt.InvalidTokenError:  # PyJWT's own header checks: kid not a string, an unsupported crit
            raise _invalid_token(MALFORMED_HEADER) from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm.lower() == "none":
            raise _invalid_token("Unsigned tokens (alg=none) are refused.")
        if algorithm not in ALGORITHMS:
            raise _invalid_token(f"The algorithm {printable(repr(algorithm[:20]))} is not accepted; this API accepts "
                                 "RS256 only.")
        if "crit" in header or "b64" in header:
            # RFC 7515 §4.1.11: a JWS whose crit names an extension the recipient does not understand is
            # invalid. This API understands none (PyJWT knows b64, RFC 7797; access tokens never use it).
            raise _invalid_token(MALFORMED_HEADER)
        kid = header.get("kid")
        if kid not in self.published_kids:  # a string, or PyJWT refused the header above
            raise _invalid_token("The token's kid names no key in /.well-known/jwks.json.")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            # RFC 9068 §4, RFC 8725 §3.11: another JWT signed with the same key (an ID token, a client
            # assertion) must never pass for an access token.
            raise _invalid_token(f"The token's typ is not {ACCESS_TOKEN_TYPE}: it is not an access token.")
        try:
            claims = jwt.decode(
                token, signing_key.private_key(kid).public_key(), algorithms=ALGORITHMS, audience=audience,
                issuer=self.issuer,
                options={"require": list(REQUIRED_CLAIMS), "verify_aud": audience is not None,
                         # PyJWT compares times with the machine's clock. This API has its own
                         # clock (notebooks move it forward), so it checks times itself.
                         "verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except jwt.InvalidSignatureError:
            raise _invalid_token("The signature does not match: the token was changed or signed by someone else.") \
                from None
        except jwt.InvalidAudienceError:
            raise _invalid_token(f"The token is meant for another audience, not {audience}.") from None
        except jwt.InvalidIssuerError:
            raise _invalid_token(f"The token was not issued by {self.issuer}.") from None
        except jwt.MissingRequiredClaimError as error:
            raise _invalid_token(f"The token has no '{error.claim}' claim.") from None
        except jwt.InvalidTokenError:
            raise _invalid_token("The token is malformed.") from None
        if not all(is_numeric_date(claims[name]) for name in ("exp", "iat", "nbf") if name in claims):
            raise _invalid_token("The exp, iat and nbf claims must be numbers (seconds since the epoch).")
        if not all(isinstance(claims[name], str) and claims[name] for name in ("sub", "client_id", "jti")):
            raise _invalid_token("The sub, client_id and jti claims must be non-empty strings.")
        if not isinstance(claims.get("scope", ""), str):
            raise _invalid_token("The scope claim must be one string of space-separated scopes.")
        cnf = claims.get("cnf")
        if cnf is not None and not (isinstance(cnf, dict) and cnf and all(
                isinstance(cnf.get(name, ""), str) for name in ("jkt", "x5t#S256"))):
            raise _invalid_token("The cnf claim must be an object whose jkt and x5t#S256 are strings (RFC 7800).")
        return claims

    def introspect(self, token: str, audiences: list[str]) -> dict:
        """What RFC 7662 §2.2 tells a resource server serving `audiences` about `token`.

        `{"active": False}` and nothing more for anything that is not an access token it may accept
        right now: unknown, malformed, expired, revoked, meant for another audience, or a refresh
        token. Refresh tokens "are intended for use only with authorization servers and are never sent
        to resource servers" (RFC 6749 §1.5), and the authorization server "MUST determine whether or not
        the token can be used at the protected resource making the introspection call" (RFC 7662 §4):
        it cannot, so it is not active there. `token_type_hint` changes nothing (RFC 7662 §2.1).
        """
        inactive = {"active": False}
        if len(token) > MAX_TOKEN_LENGTH:
            return inactive
        try:
            claims = self.check_access_token(token, audiences, leeway=0)
        except (HTTPError, jwt.PyJWTError):  # PyJWTError: should PyJWT ever raise past the checks above
            return inactive
        cnf = claims.get("cnf")  # a bound token says to what (RFC 9449 §6.2, RFC 8705 §3.2)
        return _active(scope=claims.get("scope"), client_id=claims["client_id"], subject=claims["sub"],
                       token_type="DPoP" if cnf and "jkt" in cnf else "Bearer", exp=claims["exp"],
                       iat=claims["iat"], iss=claims["iss"], aud=claims["aud"], jti=claims["jti"], cnf=cnf)

    def verify(self, authorization: str | None, required_scope: str, audience: str | None = None, *,
               confirm=None) -> dict:
        """The claims of a valid bearer token for `audience` (this API's /me by default) that grants
        `required_scope`, or raise HTTPError. `confirm(claims)`, if given, checks what the token is bound
        to (see `binding`) before the scope is looked at."""
        claims = self.check_access_token(_bearer_token(authorization), audience or self.audience)
        if confirm is not None:
            confirm(claims)
        self.require_scope(claims, required_scope)
        return claims

    @staticmethod
    def require_scope(claims: dict, required_scope: str, scheme: str = "Bearer") -> None:
        """403 insufficient_scope unless the token grants `required_scope` (RFC 6750 §3.1)."""
        if required_scope not in str(claims.get("scope", "")).split(" "):  # SP only (RFC 6749 §3.3)
            raise HTTPError(403, "insufficient_scope", f"The token lacks the '{required_scope}' scope.",
                            [("WWW-Authenticate", f'{scheme} realm="{REALM}", error="insufficient_scope", '
                                                  f'scope="{required_scope}"')])


def _active(*, scope: str | None, client_id: str, subject: str, token_type: str, **times_and_names) -> dict:
    """An `active: true` introspection answer (RFC 7662 §2.2).

    `username` is the resource owner's: a client-credentials token (subject = the client) has none.
    """
    answer = {"active": True, "scope": scope, "client_id": client_id,
              "username": subject if subject != client_id else None, "sub": subject, "token_type": token_type,
              **times_and_names}
    return {name: value for name, value in answer.items() if value is not None}


def _bearer_token(authorization: str | None) -> str:
    """The token from `Authorization: Bearer <token>` (RFC 6750 §2.1). /me, /reports and UserInfo all
    call this, so they answer a missing token alike.

    No token, or another scheme, is a request that "lacks any authentication information": its challenge
    carries no error code (RFC 6750 §3.1). `missing_token` in the JSON body is not an RFC 6750 code and
    never appears in the challenge: it is this API's own, like `missing_credentials` (Basic) and
    `missing_key` (API keys), because every error body here has the same {"error", "error_description"}.
    """
    if authorization is None or not authorization.strip():
        # No credentials at all: a challenge without an error code (RFC 6750 §3.1).
        raise HTTPError(401, "missing_token", "Send an access token: 'Authorization: Bearer <token>'.",
                        [("WWW-Authenticate", f'Bearer realm="{REALM}"')])
    if len(authorization) > MAX_TOKEN_LENGTH:
        raise _invalid_request(f"The Authorization header is longer than {MAX_TOKEN_LENGTH} characters.")
    try:
        scheme, token = authorization_parts(authorization)
    except ValueError as error:
        raise _invalid_request(str(error)) from None
    space = " " in authorization.strip()
    if scheme.lower() != "bearer":
        sent = f", not {printable(repr(scheme[:20]))}" if space else ", and this header has no scheme before the token"
        raise HTTPError(401, "missing_token", f"This endpoint takes 'Authorization: Bearer <token>'{sent}.",
                        [("WWW-Authenticate", f'Bearer realm="{REALM}"')])
    token = token.strip()
    if not token or " " in token:
        raise _invalid_request("After 'Bearer ' comes exactly one token, with no spaces.")
    return token


def _invalid_token(description: str) -> HTTPError:
    return HTTPError(401, "invalid_token", description, [("WWW-Authenticate", _challenge("invalid_token", description))])


def _invalid_request(description: str) -> HTTPError:
    return HTTPError(400, "invalid_request", description,
                     [("WWW-Authenticate", _challenge("invalid_request", description))])


UNREVOCABLE = (f"This token is a service account's (JWT bearer grant, RFC 7523): no OAuth client can authenticate "
               f"to revoke it (RFC 7009 section 2.1). It expires {ACCESS_TOKEN_SECONDS} seconds after it was "
               "issued; to stop the account sooner, remove its key.")


def _not_yours(client_id: str | None) -> str:
    """Why a revoke of a token issued to another client is refused; with no client_id, what to send."""
    if client_id is None:  # RFC 7009 §2.1: a public client sends its client_id (RFC 6749 §2.3)
        return "This token was issued to an OAuth client: send its client_id, or authenticate it."
    return "This token was issued to another client."


def _challenge(error: str, description: str) -> str:
    return f'Bearer realm="{REALM}", error="{error}", error_description="{printable(description)}"'



def _invalid_grant(description: str) -> HTTPError:
    return HTTPError(400, "invalid_grant", description)  # RFC 6749 §5.2



def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()

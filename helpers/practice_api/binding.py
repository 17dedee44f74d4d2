"""Sender-constrained access tokens: bound to a DPoP key (RFC 9449) or a TLS client certificate (RFC 8705).

Read this next to notebook 09. A bound token names what it is bound to in its `cnf` claim (RFC 7800):
- `cnf.jkt`, the thumbprint of the client's DPoP key: every request carries a fresh proof signed
  with that key (`dpop.DPoPChecker`), and `Authorization: DPoP <token>`, never `Bearer` (§7.1);
- `cnf.x5t#S256`, the SHA-256 thumbprint of the client certificate of the TLS connection the
  token was requested over: the token works only over a connection with that same certificate
  (RFC 8705 §3). The TLS layer checks the certificate and hands its DER to the app
  (`helpers.serving.loopback`); the in-process transport has no TLS, so there is no certificate
  and such tokens are issued and accepted on loopback only.

`token_endpoint_key` and `confirmation` decide the binding at the token endpoint, `bound` applies it
while tokens are issued, and `verify` checks a request at a resource.

Refresh tokens: RFC 9449 §5 requires those of public clients to be bound to the DPoP key, since
nothing else proves who presents them. This server binds every refresh token issued with a DPoP
proof, whatever the client (notes-cli, notes-tv, /login's; and notes-web's, which §5 would leave to
its client secret): a refresh must then come with a proof of the same key, checked before the
refresh token is looked at any further. A confidential client that wants to change its DPoP key signs in again.
Revocation is the exception: /oauth/revoke asks no proof (RFC 7009 and RFC 9449 define none), so a thief
with a public client's refresh token but not its key can revoke it and its family (ending the victim's
access, gaining none); see `tokens.TokenService.revoke`.
Certificate-bound refresh tokens (RFC 8705 §4) are not implemented: reports-mtls gets none.
"""
from __future__ import annotations

import base64
import hashlib
import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator
from urllib.parse import quote

from helpers.practice_api import dpop
from helpers.practice_api.wsgi import HTTPError, Request, authorization_parts

# The confirmation (`cnf`, RFC 7800 §3.1) that tokens issued for the request being answered carry: a
# DPoP key's thumbprint (`jkt`, RFC 9449 §6.1), a client certificate's (`x5t#S256`, RFC 8705 §3.1).
# Set by `bound` around the token endpoint's work; read by `TokenService.issue` and `refresh`.
CONFIRMATION: ContextVar[dict | None] = ContextVar("confirmation", default=None)
MAX_AUTHORIZATION_LENGTH = 4096  # as for Bearer (tokens.MAX_TOKEN_LENGTH)


def token_endpoint_key(app, request: Request) -> str | None:
    """The thumbprint of the DPoP key of a token request's proof, None without a DPoP header.

    Called before the client is authenticated: a request refused for its proof (or for a missing
    nonce, RFC 9449 §8) must not spend the jti of its client assertion, since the client sends the
    same form again with a new proof.
    """
    if request.header("DPoP") is None:
        return None
    return app.dpop.check(request.header("DPoP"), request.method, request_url(app, request),
                          fail=dpop.token_endpoint_error)


def request_url(app, request: Request) -> str:
    """The URL this request was sent to, without query: what a DPoP proof's htu must be (RFC 9449 §4.3
    point 9). The scheme it came over, the Host header as received (RFC 9110 §7.2: the target URI's
    authority), the path percent-encoded again (WSGI decodes it); the issuer's URL without a Host.

    Not the issuer's URL: a proof for https://api.practice.test/reports must fail at another host
    name of the same server, and one for https://localhost:PORT/reports must work there. But only a
    host name of this server: a proof the client made for https://evil.test/me, replayed here with
    `Host: evil.test`, would otherwise match. Any other Host gets 421 Misdirected Request (RFC 9110
    §15.5.20, §7.4: this server is not authoritative for that URI).
    """
    path = quote(request.path, safe="/!$&'()*+,;=:@-._~", encoding="latin-1")  # RFC 3986 §3.3 pchar
    host = (request.header("Host") or "").strip(" \t")
    if not host:
        return app.issuer + path
    if normal_authority(request.scheme, host) not in own_authorities(app):
        raise HTTPError(421, "invalid_request", f"This server does not answer for the host {host!r}: send the "
                        f"request to {app.issuer} (RFC 9110 section 15.5.20). A DPoP proof is checked "
                        "against the URL of this server (RFC 9449 section 4.3).")
    return f"{request.scheme}://{host}{path}"


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def own_authorities(app) -> set[str]:
    """The host[:port] this server answers for, lower case, without a default port: the issuer's and
    the other origin's (in process: api.practice.test and other.practice.test); on loopback also the
    other names of the loopback interface with the same port (127.0.0.1, localhost, [::1])."""
    authorities = set()
    for origin in (app.issuer, app.other_origin):
        scheme, _, authority = origin.partition("://")
        authority = normal_authority(scheme, authority.split("/", 1)[0])
        authorities.add(authority)
        name, port = _split_port(authority)
        if name in LOOPBACK_NAMES:
            authorities.update(f"{alias}:{port}" if port else alias for alias in LOOPBACK_NAMES)
    return authorities


def normal_authority(scheme: str, authority: str) -> str:
    """host[:port] in lower case, without the scheme's default port (RFC 3986 §6.2.3)."""
    name, port = _split_port(authority.lower())
    if port == {"https": "443", "http": "80"}.get(scheme.lower()):
        port = ""
    return f"{name}:{port}" if port else name


def _split_port(authority: str) -> tuple[str, str]:
    name, colon, port = authority.rpartition(":")
    if not colon or name.endswith(":") or "]" in port or not name:  # no port, or inside an IPv6 literal
        return authority, ""
    return name, port


def confirmation(request: Request, client, jkt: str | None) -> dict | None:
    """The `cnf` of the tokens to issue: the DPoP key's thumbprint, and the client certificate's if
    the client registered for certificate-bound tokens (RFC 8705 §3)."""
    cnf = {"jkt": jkt} if jkt else {}
    if client is not None and getattr(client, "certificate_bound", False):
        thumbprint = certificate_thumbprint(request)
        if thumbprint is None:
            raise HTTPError(400, "invalid_request", f"{client.client_id} gets certificate-bound tokens: connect "
                            "over HTTPS with its client certificate (RFC 8705 section 3).")
        cnf["x5t#S256"] = thumbprint
    return cnf or None


def certificate_thumbprint(request: Request) -> str | None:
    """BASE64URL(SHA-256(DER of the TLS client certificate)) (RFC 8705 §3.1), or None without one."""
    if request.client_certificate_der is None:
        return None
    return base64.urlsafe_b64encode(hashlib.sha256(request.client_certificate_der).digest()).rstrip(b"=").decode()


def tls_client(request: Request, client, error):
    """`client` if the TLS client certificate of this request is the one it registered (RFC 8705 §2.1.2:
    the certificate's e-mail subjectAltName), else raise `error(reason)`. The TLS layer has already
    checked that the certificate chains to the practice CA (§2.1: PKI mutual TLS)."""
    if request.client_certificate_der is None:
        raise error(f"{client.client_id} authenticates with a TLS client certificate (tls_client_auth, RFC 8705 "
                    "section 2.1): call the HTTPS server on loopback with cert=api.client_cert. The in-process "
                    "API has no TLS, so no certificate.")
    from cryptography import x509  # only for this client: the practice API's start stays light

    certificate = x509.load_der_x509_certificate(request.client_certificate_der)
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        emails = names.get_values_for_type(x509.RFC822Name)
    except x509.ExtensionNotFound:
        emails = []
    if client.tls_client_auth_san_email not in emails:
        raise error(f"The client certificate is not the one {client.client_id} registered "
                    "(tls_client_auth_san_email, RFC 8705 section 2.1.2).")
    return client


@contextmanager
def bound(cnf: dict | None) -> Iterator[None]:
    """Tokens issued inside this block carry `cnf` (see `tokens.CONFIRMATION`)."""
    token = CONFIRMATION.set(cnf)
    try:
        yield
    finally:
        CONFIRMATION.reset(token)


def verify(app, request: Request, required_scope: str, audience: str | None = None, *,
           offer_dpop: bool = False) -> dict:
    """The claims of the access token of a request to a resource, once it and its binding are checked.

    `Authorization: DPoP <token>` with a `DPoP` proof for a DPoP-bound token (RFC 9449 §7.1);
    `Authorization: Bearer <token>` for any other, never for a DPoP-bound one. A certificate-bound
    token must come over a connection with the same client certificate (RFC 8705 §3).

    `offer_dpop`: a request without credentials gets a DPoP challenge next to the Bearer one (RFC
    9449 §7.1: `DPoP algs="..."`). /reports, the machine-to-machine resource of notebook 09, offers
    it; /me keeps the one Bearer challenge notebook 03 shows (it takes DPoP tokens all the same).
    """
    tokens = app.tokens
    authorization = request.header("Authorization") or ""
    try:
        scheme, rest = authorization_parts(authorization)
    except ValueError as error:  # 'DPoP<TAB>token' gets a DPoP challenge; 'Bearer<TAB>token' tokens.verify's
        if re.match(r"\S*", authorization.strip())[0].lower() == "dpop":
            raise dpop.resource_error("invalid_request", str(error), status=400) from None
        scheme, rest = "", ""
    if offer_dpop and not scheme and not authorization.strip():
        raise HTTPError(401, "missing_token", "Send an access token: 'Authorization: Bearer <token>', or "
                        "'Authorization: DPoP <token>' and a DPoP proof for a DPoP-bound one.",
                        [("WWW-Authenticate", f'Bearer realm="{dpop.REALM}"'),
                         ("WWW-Authenticate", f'DPoP realm="{dpop.REALM}", algs="{" ".join(dpop.ALGORITHMS)}"')])
    if scheme.lower() != "dpop":
        return tokens.verify(authorization or None, required_scope, audience,
                             confirm=lambda claims: _bearer_binding(claims, request))
    token = rest.strip()
    if not token or " " in token or len(authorization) > MAX_AUTHORIZATION_LENGTH:
        raise dpop.resource_error("invalid_request", "After 'DPoP ' comes exactly one access token, with no "
                                  "spaces (RFC 9449 section 7.1).", status=400)
    try:
        claims = tokens.check_access_token(token, audience or tokens.audience)
    except HTTPError as error:  # the same refusal, with a DPoP challenge instead of a Bearer one
        raise dpop.resource_error(error.error, error.description, status=error.status) from None
    jkt = (claims.get("cnf") or {}).get("jkt")
    if not jkt:
        raise dpop.resource_error("invalid_token", "This token is not bound to a DPoP key: send it as "
                                  "'Authorization: Bearer <token>'.")
    app.dpop.check(request.header("DPoP"), request.method, request_url(app, request), access_token=token,
                   bound_to=jkt, fail=dpop.resource_error)
    _certificate_binding(claims, request, scheme="DPoP")
    tokens.require_scope(claims, required_scope, scheme="DPoP")
    return claims


def _bearer_binding(claims: dict, request: Request) -> None:
    if (claims.get("cnf") or {}).get("jkt"):
        raise dpop.resource_error("invalid_token", "This token is bound to a DPoP key (cnf.jkt): send it as "
                                  "'Authorization: DPoP <token>' with a DPoP proof, not as Bearer "
                                  "(RFC 9449 section 7.1).")
    _certificate_binding(claims, request)


def _certificate_binding(claims: dict, request: Request, scheme: str = "Bearer") -> None:
    """401 invalid_token unless a certificate-bound token comes with that certificate (RFC 8705 §3).

    The challenge is of the scheme the token came with: a token bound to a DPoP key and a certificate,
    sent as DPoP, gets a DPoP challenge (RFC 9449 §7.1), any other a Bearer one (RFC 6750 §3).
    """
    expected = (claims.get("cnf") or {}).get("x5t#S256")
    if expected is None:
        return
    if certificate_thumbprint(request) != expected:
        description = ("This token is bound to a client certificate (cnf x5t#S256): send it over a TLS "
                       "connection with that certificate (RFC 8705 section 3).")
        if scheme == "DPoP":
            raise dpop.resource_error("invalid_token", description)
        raise HTTPError(401, "invalid_token", description,
                        [("WWW-Authenticate", 'Bearer realm="practice", error="invalid_token", error_description='
                                              '"The token is bound to another client certificate."')])

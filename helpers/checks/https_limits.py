"""Checks for notebook 06, HTTPS, secrets and rate limits.

Like every check, these never raise at the learner and never print a secret or a file path:
they read the learner's objects (and the PEM files a session points at), and send nothing.
"""
from __future__ import annotations

import secrets
import ssl
import warnings
from pathlib import Path
from typing import Any, Callable

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.util import Retry
from urllib3.util.ssl_ import resolve_cert_reqs

from helpers.checks.feedback import (not_a_function, not_yet, placeholder, right, run, session_not_made,
                                     verify_off)
from helpers.viewers import a_kind

__all__ = ["tls_session", "retry_policy", "redact_api_key"]

MASK = "[REDACTED]"
IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}  # RFC 9110 §9.2.2
MAX_RETRIES = 3  # exercise 2: "at most 3 times"
MAX_RETRY_AFTER = 60  # exercise 2: "never more than 60 s at once"
MIN_BACKOFF_MAX = 1  # seconds: a smaller cap retries a 503 almost at once, as if there were no backoff
# Retry's methods that decide whether and how long to wait: a subclass that replaces one may ignore Retry-After.
# The steps of a request that a Session or HTTPAdapter subclass could use to decide, per request, to check
# nothing: tls_session refuses a class that replaces one, since a probe proves only what it probed.
SESSION_STEPS = ["request", "send", "merge_environment_settings", "get_adapter", "prepare_request"]
ADAPTER_STEPS = ["send", "get_connection_with_tls_context", "build_connection_pool_key_attributes", "get_connection"]
PROBED = ["https://127.0.0.1/mtls/whoami", "https://localhost/mtls/whoami"]  # the practice certificate's names
OFF = "The exercise needs no adapter of your own: mount nothing, and session.verify does the checking."
WAITING = ["sleep_for_retry", "_sleep_backoff", "get_retry_after", "parse_retry_after", "get_backoff_time",
           "is_retry", "is_exhausted"]


# -- exercise 1 ---------------------------------------------------------------------------

def tls_session(session: Any) -> None:
    """06, exercise 1: a Session that trusts only the practice CA, presents ada's client certificate,
    and keeps doing so when REQUESTS_CA_BUNDLE is set (trust_env = False).

    The session and its adapters are judged by a probe, which proves only what it probed: a GET to the
    practice certificate's host names, timeout=5, once. So a class that replaces a step where a request
    could be treated otherwise is refused without a probe (see _adapter_problem).
    """
    if placeholder(session) or session_not_made(session):
        return
    if isinstance(session, requests.Response):
        return not_yet("that is a response. Pass the session you configured: checks.tls_session(session).")
    if not isinstance(session, requests.Session):
        return not_yet(f"expected a requests.Session, got {a_kind(session)}.")
    verify = session.verify
    if verify is None or verify_off(verify):  # False, 0, "" and None: requests checks certificates for a true verify only
        return not_yet(f"session.verify = {verify!r} turns certificate checks off: anyone on the path could pretend to be "
                       "the API and read ada's credentials. Trust the practice CA instead: "
                       "session.verify = api.ca_bundle.")
    if verify is True:
        return not_yet("session.verify is True, the default trust store, which does not know the practice CA. "
                       "Set session.verify = api.ca_bundle.")
    if isinstance(verify, (tuple, list)):
        return not_yet("session.verify holds a (certificate, key) pair: that is ada's client certificate, and it "
                       "goes in session.cert. session.verify takes the CA file: api.ca_bundle.")
    problem = _ca_problem(verify)
    if problem:
        return not_yet(problem)
    cert = session.cert
    if cert is None:
        return not_yet("session.verify is right. Now the client certificate: without one, /mtls/whoami answers 403. "
                       "Set session.cert = api.client_cert.")
    problem = _client_cert_problem(cert, verify) or _issuer_problem(verify, cert)
    if problem:
        return not_yet(problem)
    problem = _adapter_problem(session)
    if problem:
        return not_yet(problem)
    if session.trust_env:
        return not_yet("almost: with session.trust_env True, a REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE environment "
                       "variable silently replaces session.verify (section 1). Set session.trust_env = False.")
    right("this session trusts only the practice CA, presents ada's certificate, and no environment variable can "
          "change that. Behind a proxy, set session.proxies yourself: trust_env = False ignores HTTPS_PROXY too.")


def _adapter_problem(session: requests.Session) -> str | None:
    """Why the session, or an adapter mounted for https, would not check the server's certificate, or None.

    session.verify is only what requests hands the adapter: a Session or HTTPAdapter subclass can
    still turn the checks off. A probe proves only what it probed: code that decides per request
    (verification off for localhost, for another timeout, after the first call) passes any sample.
    So a class that replaces a step a request goes through is refused by name, unprobed; then the
    session's own request() runs for the hosts the practice certificate names, with a recording
    adapter in place of each mounted one (nothing is sent), and each https adapter sets up, from what
    was recorded, the connection pool it would use, stopping before it connects.
    """
    replaced = _replaced(session, requests.Session, SESSION_STEPS)
    if replaced:
        return (f"this session's class, {type(session).__name__}, replaces {replaced}(), a step every request "
                "goes through, so it may turn certificate checks off for a request the check does not try (another "
                "host, another timeout, a later call). Use requests.Session() itself.")
    adapters = [adapter for prefix, adapter in session.adapters.items() if prefix.lower().startswith("https")]
    if not adapters:
        return ("the session has no adapter for https:// URLs, so it cannot reach the API. Start again from "
                "requests.Session() and mount nothing.")
    for adapter in adapters:
        if not isinstance(adapter, HTTPAdapter):
            return (f"https:// goes through a {type(adapter).__name__}, not requests' HTTPAdapter, so nothing "
                    "shows that it checks certificates. Mount nothing: the default adapter checks them.")
        replaced = _replaced(adapter, HTTPAdapter, ADAPTER_STEPS)
        if replaced:
            return (f"the adapter mounted for https:// ({type(adapter).__name__}) replaces {replaced}(), so "
                    "it may pass verify=False for a request the check does not try (another host, another "
                    f"timeout, a later call). {OFF}")
    for url in PROBED:
        recorded = _recorded(session, url)
        if isinstance(recorded, str):
            return recorded
        request, kwargs = recorded
        if kwargs.get("verify") is False:
            return ("this session hands its adapter verify=False, whatever session.verify says: anyone on the "
                    "path could pretend to be the API. Use requests.Session() and set session.verify.")
        for adapter in adapters:
            problem = _pool_problem(adapter, request, kwargs)
            if problem:
                return problem
    return None


def _replaced(thing: Any, base: type, steps: list[str]) -> str | None:
    """The first of `steps` that `thing` does not take from `base` (its class's or its own), or None."""
    for name in steps:
        if name in vars(thing) or getattr(type(thing), name, None) is not getattr(base, name, None):
            return name
    return None


class _Stopped(Exception):
    """Raised in place of connecting, once the request or the connection pool is set up."""


class _Recorder(BaseAdapter):
    """Mounted in place of the session's adapters for one probe: keeps what send() is given, sends nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[requests.PreparedRequest, dict[str, Any]]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.seen.append((request, kwargs))
        raise _Stopped

    def close(self) -> None:
        pass


def _recorded(session: requests.Session, url: str) -> tuple[requests.PreparedRequest, dict[str, Any]] | str:
    """What session.request("GET", url, timeout=5) hands its adapter's send(), or why it hands nothing."""
    recorder, mounted = _Recorder(), session.adapters
    session.adapters = type(mounted)((prefix, recorder) for prefix in mounted)
    try:
        outcome = run(_request, session, url, *_paths(session.verify, session.cert))
    finally:
        session.adapters = mounted
    if recorder.seen:
        return recorder.seen[0]
    if isinstance(outcome.error, requests.exceptions.InvalidSchema):
        return (f"the session has no adapter for {url.split('/m')[0]}, the practice API's address. Start again "
                "from requests.Session() and mount nothing.")
    failed = f" ({type(outcome.error).__name__})" if outcome.error else ""
    return f"the session does not reach its adapter for a GET{failed}. Start again from requests.Session()."


def _request(session: requests.Session, url: str, *_hidden: str) -> None:
    """The probe: a GET as the notebook sends it. `_hidden` only tells run() what not to show."""
    session.request("GET", url, timeout=5)


def _paths(verify: Any, cert: Any) -> list[str]:
    """The file paths in `verify` and `cert`, and their folders: printed text that holds one is not shown
    (run() hides what quotes its arguments), so the learner's prints put no machine path in the notebook."""
    found = [str(value) for value in (verify, *(cert if isinstance(cert, tuple) else (cert,)))
             if isinstance(value, (str, Path))]
    return found + [str(Path(value).parent) for value in found]


def _pool_problem(adapter: HTTPAdapter, request: requests.PreparedRequest, kwargs: dict[str, Any]) -> str | None:
    """What `adapter` turns off in the connection pool it would use for `request`, or None.

    requests' own send() runs with what the session handed over (`kwargs`), so an init_poolmanager
    or cert_verify of the learner's is judged too; it stops after cert_verify, the last step before
    urllib3 connects, so nothing is sent. What the adapter prints goes through run(), like any code
    of the learner's that a check runs. A cert_verify set on the instance is put back afterwards.
    """
    seen: dict[str, Any] = {}
    own = vars(adapter).get("cert_verify", _ABSENT)
    set_up = adapter.cert_verify

    def record_and_stop(pool: Any, url: str, verify: Any, cert: Any) -> None:
        set_up(pool, url, verify, cert)
        seen.update(pool=pool, verify=verify)
        raise _Stopped

    adapter.cert_verify = record_and_stop  # on this instance only, and only for this call
    try:
        outcome = run(_send, adapter, request, kwargs, *_paths(kwargs.get("verify"), kwargs.get("cert")))
    finally:
        if own is _ABSENT:
            del adapter.cert_verify
        else:
            adapter.cert_verify = own
    if not isinstance(outcome.error, _Stopped):
        if outcome.error is not None:  # a broken subclass: say so rather than raise at the learner
            return f"the adapter mounted for https:// fails before it connects ({type(outcome.error).__name__}). {OFF}"
        return f"the adapter mounted for https:// sends without requests' certificate set-up. {OFF}"
    pool = seen["pool"]
    context = pool.conn_kw.get("ssl_context")
    if seen["verify"] is False:
        return ("the adapter mounted for https:// passes verify=False, whatever session.verify says: anyone on "
                f"the path could pretend to be the API. {OFF}")
    if resolve_cert_reqs(getattr(pool, "cert_reqs", None)) == ssl.CERT_NONE:
        return ("the adapter mounted for https:// sets cert_reqs to CERT_NONE: it accepts any certificate, "
                f"whatever session.verify says, so anyone on the path could pretend to be the API. {OFF}")
    if getattr(pool, "assert_hostname", None) is False:
        return ("the adapter mounted for https:// sets assert_hostname=False: it accepts a certificate issued "
                f"to any other host. {OFF}")
    if isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_NONE:
        return ("the adapter mounted for https:// gives urllib3 an ssl_context with verify_mode CERT_NONE: "
                "it asks for no certificate checks (urllib3 2 happens to restore them from cert_reqs; do not "
                f"rely on that). {OFF}")
    if isinstance(context, ssl.SSLContext) and not context.check_hostname:
        return ("the adapter mounted for https:// gives urllib3 an ssl_context with check_hostname False: it "
                "asks for no host name check (urllib3 2 happens to check the name itself; do not rely on "
                f"that). {OFF}")
    if context is not None:
        return _context_problem(context)
    return None


_ABSENT = object()


def _send(adapter: HTTPAdapter, request: requests.PreparedRequest, kwargs: dict[str, Any], *_hidden: str) -> None:
    """The adapter's send(), with what the session handed it. `_hidden` only tells run() what not to show."""
    options = {name: value for name, value in kwargs.items() if name != "timeout"}
    adapter.send(request, timeout=kwargs.get("timeout", 5), **options)  # it stops before connecting


def _context_problem(context: Any) -> str:
    """Why an ssl_context of the adapter's own is refused, whatever it holds.

    urllib3 loads session.verify's CA into that context, next to the CAs it trusts already:
    ssl.create_default_context() brings the system's public CAs, and a CA folder (capath) is read
    lazily, so get_ca_certs() cannot list all it trusts. Only a context urllib3 makes trusts just session.verify.
    """
    try:
        count = len(context.get_ca_certs()) if isinstance(context, ssl.SSLContext) else 0
    except Exception:  # an object of the learner's that will not say
        count = 0
    holds = (f"it already trusts {count} CA certificate{'s' if count != 1 else ''} (ssl.create_default_context() "
             "loads the system's public CAs), and urllib3 adds the practice CA to them, so any of them" if count else
             "a check cannot list what it trusts (a CA folder is read only when needed), and urllib3 adds the "
             "practice CA to whatever it trusts already, so any CA in it")
    return (f"the adapter mounted for https:// gives urllib3 an ssl_context of its own: {holds} could vouch for "
            "an impostor. Mount nothing here: then the practice CA in session.verify is the only one trusted.")


def _ca_problem(verify: Any) -> str | None:
    """Why `verify` is not the path of one CA certificate in PEM, or None if it is."""
    if not isinstance(verify, (str, Path)):
        return f"session.verify should be the path of a PEM file (a str), not {a_kind(verify)}."
    path = Path(verify)
    if path.is_dir():
        return ("session.verify names a folder. requests accepts a prepared CA folder, but here pass the file "
                "api.ca_bundle.")
    if not path.is_file():
        return "session.verify names no file that exists. Use the path the practice API gives you: api.ca_bundle."
    text = _read(path)
    if "PRIVATE KEY" in text:
        return ("session.verify points at a private key. A key goes only in session.cert, with its certificate; "
                "session.verify takes the CA file: api.ca_bundle.")
    certificates = _certificates(text)
    if certificates is None:
        return "session.verify points at a file that holds no PEM certificate. Use api.ca_bundle."
    if len(certificates) > 1:
        return (f"session.verify points at a bundle of {len(certificates)} certificates, such as the public CAs. "
                "Trust only the CA that signed the practice API's certificate: api.ca_bundle.")
    if not _is_ca(certificates[0]):
        return ("session.verify points at ada's client certificate, not at a CA. The client certificate goes in "
                "session.cert; session.verify takes the CA file: api.ca_bundle.")
    return None


def _client_cert_problem(cert: Any, ca_path: Any) -> str | None:
    """Why `cert` is not ada's (certificate, key) pair, or None if it is."""
    if isinstance(cert, (str, Path)):
        if Path(cert) == Path(ca_path):
            return ("session.cert points at the CA. cert= is your own certificate and key: "
                    "session.cert = api.client_cert.")
        paths = (Path(cert), Path(cert))
    elif isinstance(cert, list):  # requests keys its connection pools on cert: a list is unhashable
        return ("session.cert is a list, and requests fails on it (TypeError: unhashable type: 'list'). "
                "Give a (certificate file, key file) tuple: session.cert = api.client_cert.")
    elif isinstance(cert, tuple) and len(cert) == 2 and all(isinstance(p, (str, Path)) for p in cert):
        paths = (Path(cert[0]), Path(cert[1]))
    else:
        return "session.cert takes a (certificate file, key file) pair: session.cert = api.client_cert."
    if not all(path.is_file() for path in paths):
        return ("session.cert names a file that does not exist. Use the pair the practice API gives you: "
                "api.client_cert.")
    cert_text, key_text = _read(paths[0]), _read(paths[1])
    if "PRIVATE KEY" in cert_text and "CERTIFICATE" in key_text and paths[0] != paths[1]:
        return "the pair is the wrong way round: the certificate comes first, then the key. Use api.client_cert."
    if "PRIVATE KEY" not in key_text:
        return ("session.cert has no private key: give the (certificate, key) pair, api.client_cert. The key proves "
                "that you hold the certificate.")
    if "ENCRYPTED" in key_text:
        return ("the key is encrypted, and requests has no parameter for the key's password: OpenSSL then asks for "
                "it on the terminal (Enter PEM pass phrase:), a prompt that can block a notebook's kernel. Use an "
                "unencrypted key, kept private (here api.client_cert), or an HTTPAdapter whose SSLContext loaded "
                "the pair with load_cert_chain(cert, key, password=...).")
    certificates = _certificates(cert_text)
    if not certificates:
        return "the first file of session.cert holds no certificate. Use api.client_cert."
    if _is_ca(certificates[0]):
        return "session.cert points at the CA. cert= is your own certificate and key: session.cert = api.client_cert."
    if not _key_matches(certificates[0], key_text):
        return "the key does not belong to the certificate. Use the pair that was issued together: api.client_cert."
    return None


def _issuer_problem(ca_path: Any, cert: Any) -> str | None:
    """Why the CA in session.verify did not issue the client certificate, or None if it did.

    One practice server's CA signs both its own certificate and ada's: a pair from two servers (a path
    kept from an earlier run) cannot connect.
    """
    chain = cert if isinstance(cert, (str, Path)) else cert[0]
    ca, leaf = _certificates(_read(Path(ca_path))), _certificates(_read(Path(chain)))
    if not ca or not leaf or not hasattr(leaf[0], "verify_directly_issued_by"):  # cryptography < 40: cannot tell
        return None
    try:
        leaf[0].verify_directly_issued_by(ca[0])
    except Exception:  # ValueError, TypeError or InvalidSignature: not this CA's certificate
        return ("ada's certificate was not issued by the CA in session.verify: the two files come from different "
                "practice servers. Use api.ca_bundle and api.client_cert of the server that is running.")
    return None


def _read(path: Path) -> str:
    try:
        return path.read_bytes()[:1_000_000].decode("ascii", "replace")
    except OSError:
        return ""


def _certificates(text: str) -> list | None:
    from cryptography import x509

    with warnings.catch_warnings():  # old public CAs have serial numbers that cryptography warns about
        warnings.simplefilter("ignore")
        try:
            return x509.load_pem_x509_certificates(text.encode("ascii", "replace")) or None
        except ValueError:
            return None


def _is_ca(certificate) -> bool:
    from cryptography import x509

    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _key_matches(certificate, key_text: str) -> bool:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(key_text.encode("ascii", "replace"), password=None)
    except (ValueError, TypeError):
        return False
    spki = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(*spki) == certificate.public_key().public_bytes(*spki)


# -- exercise 2 ---------------------------------------------------------------------------

def retry_policy(retry: Any) -> None:
    """06, exercise 2: a urllib3 Retry for production: 429 and 503, idempotent methods, Retry-After capped, backoff."""
    if placeholder(retry):
        return
    if isinstance(retry, requests.Session):
        retry = retry.get_adapter("https://api.practice.test/")
    if isinstance(retry, HTTPAdapter):
        retry = retry.max_retries
    if isinstance(retry, int):  # bool included
        return not_yet(f"max_retries={retry!r} becomes Retry({retry!r}): no status list, no backoff and no cap of "
                       "your choosing. Build the policy yourself: "
                       "retry = Retry(total=3, status_forcelist=[429, 503], ...).")
    if retry is Retry:
        return not_yet("that is the class itself. Call it with the arguments: retry = Retry(total=3, ...).")
    if not isinstance(retry, Retry):
        return not_yet(f"expected a urllib3.util.Retry, got {a_kind(retry)}.")
    if retry.total == 0 and not retry.status_forcelist:
        return not_yet("this policy never retries (requests' default adapter). Build one: retry = Retry(total=3, "
                       "status_forcelist=[429, 503], ...), and mount it with HTTPAdapter(max_retries=retry).")
    if type(retry).sleep is not Retry.sleep:
        return not_yet("that Retry does not sleep for real: the practice-clock version is for this notebook only. "
                       "In your code, use urllib3's Retry with the same arguments.")
    changed = [name for name in WAITING if getattr(type(retry), name, None) is not getattr(Retry, name, None)]
    if changed:
        return not_yet(f"this subclass of Retry changes how it waits ({', '.join(changed)}), so Retry-After may not be "
                       "honoured. Use urllib3's Retry itself, and say what you want with its arguments.")
    forcelist = set(retry.status_forcelist or ())
    if 429 not in forcelist:
        return not_yet("429 is not in status_forcelist: add it, so that a 429 is retried even when it carries no "
                       "Retry-After (with backoff).")
    if 503 not in forcelist:
        return not_yet("add 503 to status_forcelist too: 503 Service Unavailable often comes with Retry-After as well.")
    client_errors = sorted(status for status in forcelist if 400 <= status < 500 and status != 429)
    if client_errors:
        shown = ", ".join(map(str, client_errors[:3])) + (", ..." if len(client_errors) > 3 else "")
        return not_yet(f"status_forcelist holds {shown}: a 4xx other than 429 says the request itself is wrong (a 401 "
                       "or 403 for a bad key), and asking again gets the same answer, each retry counted against your "
                       "rate limit. Retry 429 and 503: status_forcelist=[429, 503].")
    if retry.status is not None and not isinstance(retry.status, bool) and retry.status < 1:
        return not_yet(f"status={retry.status!r} allows no retry on a status in status_forcelist, so a 429 is never "
                       "retried. Leave status out: total=3 counts every kind of retry.")
    if not retry.respect_retry_after_header:
        return not_yet("respect_retry_after_header is off, so the client ignores how long the server asked it to wait. "
                       "Leave it True (the default).")
    total = retry.total
    if total is None or total is False or isinstance(total, bool) or total < 1:
        return not_yet(f"total={total!r}: allow a few retries, then give up and report the error: total=3.")
    if total > MAX_RETRIES:
        return not_yet(f"total={total!r}: the brief says at most {MAX_RETRIES} retries; every extra one is another "
                       f"call the rate limit counts against you. Set total={MAX_RETRIES}.")
    methods = retry.allowed_methods
    lower = sorted(method for method in methods or () if method != method.upper())
    if lower:  # urllib3 upper-cases the request's method, not this list: "get" never matches "GET"
        return not_yet(f"allowed_methods holds {', '.join(map(repr, lower[:3]))}: urllib3 compares the request's "
                       "method in upper case with this list as written, so a lower-case name is never retried. "
                       "Write the methods in upper case: allowed_methods=Retry.DEFAULT_ALLOWED_METHODS.")
    if not methods or {method.upper() for method in methods} - IDEMPOTENT:  # urllib3 2 reads [] as None: every method
        unsafe = "every method" if not methods else ", ".join(sorted({m.upper() for m in methods} - IDEMPOTENT))
        return not_yet(f"this policy retries {unsafe}. A retried POST may create the order twice: retry only "
                       "idempotent methods (RFC 9110 §9.2.2), allowed_methods=Retry.DEFAULT_ALLOWED_METHODS.")
    if "GET" not in {method.upper() for method in methods}:
        return not_yet(f"GET is not in allowed_methods ({', '.join(sorted(methods))}), so the GET calls of this "
                       "notebook are never retried. Use allowed_methods=Retry.DEFAULT_ALLOWED_METHODS.")
    if not retry.backoff_factor or retry.backoff_factor <= 0:
        return not_yet("backoff_factor is 0, so a 503 without Retry-After is retried at once, again and again. "
                       "Set backoff_factor=0.5.")
    if retry.backoff_max is not None and retry.backoff_max < MIN_BACKOFF_MAX:
        return not_yet(f"backoff_max={retry.backoff_max!r} caps every backoff at {max(retry.backoff_max, 0):g} s, so a 503 "
                       "without Retry-After is retried almost at once, while the server is still down. Leave "
                       "backoff_max out: with backoff_factor=0.5 the longest wait is 2 s.")
    longest = _longest_backoff(retry)
    if longest > MAX_RETRY_AFTER:
        return not_yet(f"the last backoff of this policy can wait up to {longest:g} s (backoff_factor × 2^(retries - 1), "
                       f"plus backoff_jitter, capped by backoff_max), and the brief says never more than "
                       f"{MAX_RETRY_AFTER} s at once. Use backoff_factor=0.5 and no large backoff_jitter.")
    cap = getattr(retry, "retry_after_max", None)  # urllib3 2.6.3 and later
    if cap is not None and cap < 1:
        return not_yet(f"retry_after_max={cap:g} caps every Retry-After at {max(cap, 0):g} s, and urllib3 reads a wait of "
                       "0 as no Retry-After at all (a negative one even raises ValueError): a 429 with Retry-After: 10 "
                       f"is retried at once. Set retry_after_max={MAX_RETRY_AFTER}.")
    if cap is not None and cap >= 3600:
        return not_yet(f"retry_after_max is {cap:g} s ({cap / 3600:g} h), so one Retry-After can block your program "
                       f"that long. Cap it: retry_after_max={MAX_RETRY_AFTER}.")
    if cap is not None and cap > MAX_RETRY_AFTER:
        return not_yet(f"retry_after_max={cap:g}: the brief says never wait more than {MAX_RETRY_AFTER} s at once. "
                       f"Set retry_after_max={MAX_RETRY_AFTER}.")
    if retry.raise_on_status:
        return not_yet("when the retries run out, this policy raises requests.exceptions.RetryError, so your code "
                       "never sees the last 429 (nor its Retry-After). Set raise_on_status=False, and call "
                       "raise_for_status() on the response as always.")
    right("3 retries on 429 and 503 for idempotent methods, as long as Retry-After says within your cap, with "
          "backoff otherwise, and the last response back to you when they run out. "
          "Mount it: session.mount('https://', HTTPAdapter(max_retries=retry)).")


def _longest_backoff(retry: Retry) -> float:
    """The longest backoff `retry` can sleep, as urllib3's get_backoff_time computes it (jitter at its largest)."""
    errors = retry.total if isinstance(retry.total, int) and not isinstance(retry.total, bool) else MAX_RETRIES
    value = retry.backoff_factor * 2 ** (max(errors, 2) - 1) + max(retry.backoff_jitter or 0.0, 0.0)
    return max(0.0, min(retry.backoff_max, value)) if retry.backoff_max is not None else value


# -- exercise 3 ---------------------------------------------------------------------------

def redact_api_key(function: Any) -> None:
    """06, exercise 3: redact_api_key(line) hides the value of an X-API-Key header line, and only that."""
    if placeholder(function) or not_a_function(function, "checks.redact_api_key(redact_api_key)", results=(str,)):
        return
    key = "practice_ro_" + secrets.token_urlsafe(24)  # never a demo key: a learner must not redact one known value
    other = "sk-" + secrets.token_hex(12) + "~." + secrets.token_hex(4)  # another provider's format
    cases: list[tuple[str, str, Callable[[str], bool], str]] = [
        (f"X-API-Key: {key}", key, lambda out: out == f"X-API-Key: {MASK}", "an 'X-API-Key: <key>' line"),
        (f"x-api-key: {key}", key, lambda out: out == f"x-api-key: {MASK}",
         "the same header written 'x-api-key' (header names are case-insensitive, RFC 9110 §5.1)"),
        (f"X-Api-Key: {key}", key, lambda out: out == f"X-Api-Key: {MASK}",
         "the same header written 'X-Api-Key' (any mix of cases is the same name, RFC 9110 §5.1)"),
        (f"X-API-KEY: {key}", key, lambda out: out == f"X-API-KEY: {MASK}",
         "the same header written 'X-API-KEY' (any mix of cases is the same name, RFC 9110 §5.1)"),
        (f"X-API-Key:{key}", key, lambda out: out in (f"X-API-Key:{MASK}", f"X-API-Key: {MASK}"),
         "'X-API-Key:<key>' without a space after the colon (the space is optional)"),
        (f"X-API-Key: {other}", other, lambda out: out == f"X-API-Key: {MASK}",
         "an 'X-API-Key' line whose key has another format (not practice_...)"),
        ("Accept: application/json", key, lambda out: out == "Accept: application/json", "an 'Accept' line"),
        ("X-API-Key-Id: ro-1", key, lambda out: out == "X-API-Key-Id: ro-1",
         "an 'X-API-Key-Id: ro-1' line, another header whose name only starts like it"),
    ]
    for line, key, is_right, described in cases:
        outcome = run(function, line, secrets=[key])
        out = outcome.value
        if outcome.error:
            return not_yet(f"for {described}, your function raised {type(outcome.error).__name__}. Split the line at "
                           "the first colon: name, _, value = line.partition(':').")
        if out is None:
            return not_yet(f"for {described}, your function returned None. Replace the `...` in it with your code, "
                           "and return the line: redacted, or unchanged.")
        if not isinstance(out, str):
            return not_yet(f"for {described}, it returned {a_kind(out)}; return the line as a str.")
        if is_right(out):
            continue
        return not_yet(f"for {described}, {_redaction_hint(line, out, key)}")
    right("the key's value is gone, the header name stays so the log still says what was sent, and other lines "
          "are left alone.")


def _redaction_hint(line: str, out: str, key: str) -> str:
    if key not in line:  # a line that must stay as it was
        if out.strip().lower() == line.strip().lower() and out != line:
            return "the line came back changed. Return other lines exactly as they were."
        if line.startswith("X-API-Key-Id"):
            return ("it was redacted. Compare the whole name before the colon with 'x-api-key', not the start of "
                    "the line: name.strip().lower() == 'x-api-key'.")
        return "it changed. Redact only X-API-Key lines; return any other line exactly as it was."
    if out == line:
        if line.partition(":")[0] != "X-API-Key":
            return ("the key is still there. Header names are case-insensitive, in any mix of cases: compare "
                    "name.strip().lower() with 'x-api-key', not a list of spellings.")
        if not key.startswith("practice_"):
            return ("the key is still there. Replace whatever follows 'X-API-Key:', any key, not only values that "
                    "look like the practice keys.")
        return "the key is still there. Replace whatever follows 'X-API-Key:', not one key you know."
    if key in out:
        return "the key is still in the line. Replace the whole value after the colon with [REDACTED]."
    secret_part, value = key.removeprefix("practice_ro_").removeprefix("sk-"), out.partition(":")[2]
    if any(secret_part[i:i + 4] in value for i in range(len(secret_part) - 3)):
        return "part of the key is still there. Replace the whole value with [REDACTED]: any part helps an attacker."
    if MASK not in out:
        return "the key is gone, but write [REDACTED] in its place, so that readers of the log know a value was hidden."
    name = line.partition(":")[0]
    expected = f"'{name}: {MASK}'"
    if not out.lower().startswith("x-api-key"):
        return f"the header name is gone. Keep it, so the log still says which header was sent: {expected}."
    if out.partition(":")[0].strip() != name.strip():
        return (f"the header name changed. Keep it exactly as it came, and replace only the value: {expected}, "
                "not a fixed 'X-API-Key: [REDACTED]'.")
    return f"expected the name as it came, a colon, a space and [REDACTED]: {expected}."

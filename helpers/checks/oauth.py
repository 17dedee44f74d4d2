"""Checks for notebook 04, OAuth 2.0.

Like every check, these never raise at the learner and never print a secret: not the demo
client secret, nor the verifiers, codes and tokens they make up to test with. They call
the learner's functions with made-up inputs and a stand-in session that records what would
have been sent; nothing goes to any server.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import math
import os
import random
import re
import ssl
import time
import types
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import requests

from helpers.practice_api import demo
from helpers.checks.feedback import (MASK, PRACTICE_URL, fake_response, filled, not_a_function, not_yet, placeholder,
                                     right, run, timeout_problem, verify_off)
from helpers.viewers import a_kind

__all__ = ["pkce_pair", "exchange_code", "next_interval"]

UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]*")  # RFC 7636 §4.1: the characters a code_verifier may use
WEB_CLIENT_ID = "notes-web"
WEB_REDIRECT_URI = "https://notes-web.test/callback"
TOKEN_URL = PRACTICE_URL + "/oauth/token"


def _s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))), without padding (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


# -- exercise 1 ---------------------------------------------------------------------------

def pkce_pair(function: Any) -> None:
    """04, exercise 1: `pkce_pair()` returns a fresh (code_verifier, code_challenge) for PKCE with S256."""
    if placeholder(function) or not_a_function(function, "checks.pkce_pair(pkce_pair)", results=(tuple,)):
        return
    pairs, printed = [], []
    for _ in range(8):  # several: a wrong base64 alphabet shows only in digests that hold + or /
        outcome = run(function)
        if outcome.error:
            return not_yet(f"calling pkce_pair() raised {type(outcome.error).__name__}: {str(outcome.error)[:200]}")
        pair = outcome.value
        if pair is None:
            return not_yet("pkce_pair() returned None. Replace the `...` with code that ends with "
                           "`return code_verifier, code_challenge`.")
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            return not_yet(f"return a pair, `return code_verifier, code_challenge`; it returned {a_kind(pair)}.")
        pairs.append(tuple(pair))
        printed.append(outcome.printed)
    verifier, challenge = pairs[0]
    if isinstance(verifier, bytes) or isinstance(challenge, bytes):
        return not_yet("it returned bytes. URLs and form fields take str: add .decode('ascii').")
    if not isinstance(verifier, str) or not isinstance(challenge, str):
        return not_yet(f"both values should be str; got {a_kind(verifier)} and {a_kind(challenge)}.")
    if UNRESERVED.fullmatch(challenge) and 43 <= len(challenge) <= 128 and _s256(challenge) == verifier:
        return not_yet("the two are swapped: return the verifier (the secret you keep) first, then the challenge "
                       "(its hash, which goes in the authorization URL).")
    if not all(isinstance(value, str) for pair in pairs for value in pair):
        return not_yet("every call should return two str values; some calls returned something else.")
    if any(len(verifier_n) >= 16 and verifier_n in text for (verifier_n, _challenge), text in zip(pairs, printed)):
        return not_yet("pkce_pair prints (or logs) the code_verifier. It is the secret that proves the token "
                       "request comes from whoever started the login: printed, it is saved in the notebook's "
                       "outputs (and in a program, in its logs). Print nothing secret.")
    for verifier_n, _challenge in pairs:
        if not UNRESERVED.fullmatch(verifier_n):
            return not_yet("the code_verifier holds characters RFC 7636 §4.1 does not allow; it may use only "
                           "A-Z a-z 0-9 - . _ ~. secrets.token_urlsafe() gives exactly those.")
        if len(verifier_n) < 43:
            return not_yet(f"the code_verifier has {len(verifier_n)} characters; RFC 7636 §4.1 asks for 43 to 128, "
                           "so that it cannot be guessed. secrets.token_urlsafe(32) gives 43.")
        if len(verifier_n) > 128:
            return not_yet(f"the code_verifier has {len(verifier_n)} characters; RFC 7636 §4.1 allows at most 128. "
                           "secrets.token_urlsafe(32) gives 43, secrets.token_urlsafe(96) gives 128.")
    # A verifier that never changes first: made once, or from a generator seeded on each call. Only a
    # verifier that does change can tell whether it hangs on the random module's state.
    if len({pair[0] for pair in pairs}) < len(pairs):
        return not_yet("several calls gave the same code_verifier. Make a new random one on every call, with "
                       "secrets.token_urlsafe(32): a verifier that can be predicted protects nothing.")
    if _predictable(function) or _same_twice(function, _mersenne_twister_stopped):
        return not_yet("the code_verifier comes from the random module: with its generator held still, two calls "
                       "gave the same one. random (and random.Random) is not a cryptographic generator, and its "
                       "output can be predicted from a few values. Use the secrets module: secrets.token_urlsafe(32).")
    if _same_twice(function, _clock_stopped):
        return not_yet("the code_verifier comes from the clock: with the clock stopped, two calls gave the same one. "
                       "Anyone who knows roughly when you made it can try every value. Use the secrets module: "
                       "secrets.token_urlsafe(32).")
    if not _same_twice(function, lambda: _system_random_stopped_for(function)):
        return not_yet("the code_verifier does not come from the operating system's random source: with it held "
                       "still, two calls still gave different ones. A counter, a uuid1 (the clock and the machine's "
                       "address) or a hash of either can be guessed, and RFC 7636 §7.1 asks for a verifier that "
                       "cannot be. Use the secrets module: secrets.token_urlsafe(32).")
    problem, advice = _entropy_verdict(function, [pair[0] for pair in pairs])
    if problem:
        return not_yet(problem)
    if challenge == verifier:
        return not_yet("the challenge equals the verifier: that is the 'plain' method, which sends the secret in "
                       "the URL and which this server refuses. Send the S256 hash of the verifier instead.")
    hints = [_challenge_hint(v, c) for v, c in pairs]
    standard = [hint for hint in hints if hint and "standard base64" in hint]  # visible only when + or / occur
    hint = standard[0] if standard else next((hint for hint in hints if hint), None)
    if hint:
        return not_yet(hint)
    right(f"a fresh {len(verifier)}-character code_verifier each time, and its S256 challenge "
          f"({len(challenge)} characters of base64url, no padding).{advice}")


RECOMMENDED_BITS = 256  # RFC 7636 §4.1: "RECOMMENDED ... a 32-octet sequence"; §7.1: a SHOULD, 256 bits
RECOMMENDED_VARYING_BITS = 240  # what reaches the verifier: two uuid4 hex strings (244 bits, 62 varying digits)
MINIMUM_BITS = 128  # below this, guessing is not impractical (§7.1): the check refuses the verifier
MINIMUM_VARYING_BITS = 128  # no slack: one uuid4 (122 random bits, 31 varying hex digits, 124 here) is refused


def _entropy_verdict(function: Any, verifiers: list[str]) -> tuple[str, str]:
    """(problem, advice): a problem if a verifier is made from too little randomness to be impractical
    to guess (RFC 7636 §7.1); else advice if it has less than the 32 octets §4.1 recommends.

    The exercise asks for 43 to 128 characters from the unreserved set, made at random: a verifier
    of 128 bits or more does that, so it is right, with RFC 7636's recommendation as a hint. Two
    estimates, each with its bars: the bytes drawn from the operating system's random sources that
    change the verifier (_bytes_that_reach; 8 bits a byte at most), so that a hash of 4 of the 32
    bytes drawn, or of os.urandom(4) drawn after 32 thrown away, counts 4 though a hash changes
    every character; and the positions of the verifier that differ between calls, times the bits
    one of their characters can carry (the alphabet seen at those positions across the calls,
    rounded up to a power of two, so that secrets.token_urlsafe(32) always makes 43 x 6 = 258, and
    constant padding adds nothing).

    Black-box limits: both are upper bounds (a byte that changes the verifier may carry less than
    8 bits into it), and of a long draw only the first BYTES_TRIED bytes are flipped one by one;
    the rest count as reaching it.
    """
    drawn = _bytes_drawn(function)
    reaching = _bytes_that_reach(function, drawn)
    longest = max(len(verifier) for verifier in verifiers)
    columns = [{verifier[i] for verifier in verifiers if i < len(verifier)} for i in range(longest)]
    varying = sum(1 for column in columns if len(column) > 1)
    alphabet = len(set().union(*(column for column in columns if len(column) > 1)))  # padding does not count
    per_character = math.ceil(math.log2(alphabet)) if alphabet > 1 else 0
    bits = varying * per_character
    if reaching * 8 >= RECOMMENDED_BITS and bits >= RECOMMENDED_VARYING_BITS:
        return "", ""
    if reaching == drawn < RECOMMENDED_BITS // 8:
        why = f"one call draws only {drawn} random bytes ({drawn * 8} bits) from the operating system"
    elif reaching * 8 < RECOMMENDED_BITS:
        why = (f"one call draws {drawn} random bytes from the operating system, but only {reaching} of them "
               f"({reaching * 8} bits) change the verifier")
    else:
        why = (f"only {varying} of its characters change from call to call, each one of {alphabet} characters "
               f"(about {bits} bits)")
    if reaching * 8 >= MINIMUM_BITS and bits >= MINIMUM_VARYING_BITS:
        return "", (f" One hint: {why}; RFC 7636 recommends 32 random octets, 256 bits (§4.1, §7.1): "
                    "secrets.token_urlsafe(32).")
    return (f"the code_verifier is too easy to guess: {why}, fewer than {MINIMUM_BITS}. RFC 7636 §7.1 asks for "
            "enough entropy that it is impractical to guess, and recommends 32 random octets (256 bits). "
            "secrets.token_urlsafe(32) gives exactly that, in 43 characters."), ""


def _os_sources() -> list[tuple[Any, str]]:
    """Where the operating system's random bytes are read: (module, name) for each source Python offers.

    os.getrandom exists on Linux only; random._urandom is what SystemRandom reads.
    """
    sources = [(os, "urandom"), (random, "_urandom"), (ssl, "RAND_bytes")]
    return sources + ([(os, "getrandom")] if hasattr(os, "getrandom") else [])


@contextlib.contextmanager
def _os_sources_replaced(function: Any, stand_in: Any):
    """Every OS random source replaced by `stand_in(source)` for a moment: at its source, and under
    any name the learner's functions read it by (`from os import urandom`, see _held_by_name)."""
    sources = _os_sources()
    originals = [getattr(module, name) for module, name in sources]
    replacements = {id(original): stand_in(original) for original in originals}
    for (module, name), original in zip(sources, originals):
        setattr(module, name, replacements[id(original)])
    try:
        with _held_by_name(function, originals, replacements):
            yield
    finally:
        for (module, name), original in zip(sources, originals):
            setattr(module, name, original)


def _bytes_drawn(function: Any) -> int:
    """How many bytes one call of `function` asks of the operating system's random sources (_os_sources)."""
    count = [0]

    def counted(source: Any) -> Any:
        def draw(size: int, *flags: Any) -> bytes:
            count[0] += max(size, 0)
            return source(size, *flags)
        return draw

    with _os_sources_replaced(function, counted):
        run(function)
    return count[0]


BYTES_TRIED = 64  # of a draw, the bytes _bytes_that_reach flips one at a time: two token_urlsafe(32), say


def _bytes_that_reach(function: Any, drawn: int) -> int:
    """Of the `drawn` bytes one call takes from the OS sources, how many change the verifier when
    flipped alone: an upper bound on the bytes of randomness in it (the first BYTES_TRIED tried).

    The sources answer a fixed stream, each draw its own part, so that every call draws the same
    bytes; then each byte in turn is flipped. Drawn and thrown away, or hashed with others left
    out, a byte changes nothing. `drawn` itself if the calls raise or return no pair.
    """
    def verifier_with(flipped: int) -> Any:
        offset = [0]

        def stand_in(_source: Any) -> Any:
            def draw(size: int, *_flags: Any) -> bytes:
                start, offset[0] = offset[0], offset[0] + max(size, 0)
                data = bytearray(hashlib.shake_256(b"draw at %d" % start).digest(size) if size > 0 else b"")
                if start <= flipped < start + len(data):
                    data[flipped - start] ^= 0xFF
                return bytes(data)
            return draw

        with _os_sources_replaced(function, stand_in):
            outcome = run(function)
        pair = outcome.value
        return pair[0] if not outcome.error and isinstance(pair, (tuple, list)) and pair else None

    unflipped = verifier_with(-1)
    if unflipped is None or verifier_with(-1) != unflipped:  # raised, or does not hang on these sources alone
        return drawn
    tried = min(drawn, BYTES_TRIED)
    return sum(1 for position in range(tried) if verifier_with(position) != unflipped) + drawn - tried


def _two_verifiers(function: Any, before_each: Any = lambda: None) -> list | None:
    """The verifiers of two calls (None for an answer that is not a pair), or None if a call raised."""
    verifiers = []
    for _ in range(2):
        before_each()
        outcome = run(function)
        if outcome.error:
            return None
        pair = outcome.value
        verifiers.append(pair[0] if isinstance(pair, (tuple, list)) and pair else None)
    return verifiers


def _alike(verifiers: list | None) -> bool:
    """True if both calls gave the same verifier (and gave one at all)."""
    return verifiers is not None and verifiers[0] is not None and verifiers[0] == verifiers[1]


def _predictable(function: Any) -> bool:
    """True if the verifier depends only on the `random` module's state (seeded alike, same verifier)."""
    state = random.getstate()
    try:
        return _alike(_two_verifiers(function, before_each=lambda: random.seed(0)))
    finally:
        random.setstate(state)  # leave the learner's random module as it was


def _same_twice(function: Any, held_still: Any) -> bool:
    """True if two calls give the same verifier while `held_still()` (a context manager) freezes a source."""
    with held_still():
        return _alike(_two_verifiers(function))


@contextlib.contextmanager
def _mersenne_twister_stopped():
    """Every random.Random (not SystemRandom, which reads os.urandom) draws zeros for a moment."""
    saved = {name: random.Random.__dict__.get(name) for name in ("random", "getrandbits")}
    random.Random.random = lambda self: 0.0
    random.Random.getrandbits = lambda self, k: 0
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                delattr(random.Random, name)  # back to the C methods of _random.Random
            else:
                setattr(random.Random, name, value)


def _held_still(_source: Any) -> Any:
    """A stand-in for an OS random source that repeats one fixed stream.

    Random-looking bytes rather than zeros, so that a function which redraws until it likes what it
    got still ends. A verifier made from this source is then the same on every call; one that still
    changes comes from somewhere else: a counter, the clock, uuid1.
    """
    def draw(size: int, *_flags: Any) -> bytes:
        return hashlib.shake_256(b"held still").digest(size) if size > 0 else b""
    return draw


def _called_functions(function: Any, limit: int = 200) -> list[types.FunctionType]:
    """The learner's function and the Python functions it calls by name, and those they call (up to `limit`).

    Found through the names each function's code reads (its globals) and its closure: what a
    patch at the source misses when a function holds a source under a name of its own.
    """
    first = function if hasattr(function, "__code__") else getattr(type(function), "__call__", None)
    first = getattr(first, "__func__", first)
    found: list[types.FunctionType] = []
    todo = [first]
    while todo and len(found) < limit:
        current = todo.pop()
        if not isinstance(current, types.FunctionType) or any(current is seen for seen in found):
            continue
        found.append(current)
        for name in _names_read(current.__code__):
            value = current.__globals__.get(name)
            todo.append(getattr(value, "__func__", value))
        todo += [cell.cell_contents for cell in current.__closure__ or () if filled(cell)]
    return found


def _names_read(code: types.CodeType) -> set[str]:
    """The global names a code object reads, its nested functions and comprehensions included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names_read(constant)
    return names


@contextlib.contextmanager
def _held_by_name(function: Any, originals: list, replacements: dict):
    """replacements[id(original)] in place of each of `originals` where the learner's functions hold it
    under a name of their own.

    `from os import urandom` binds the source itself in the learner's globals (or a closure), so
    patching os.urandom does not reach it: the names the function and the functions it calls read
    are replaced too, by identity (_called_functions).
    """
    def replacement(value: Any) -> Any:
        return next((replacements[id(original)] for original in originals if value is original), None)

    replaced: list[tuple[Any, Any, Any]] = []
    for current in _called_functions(function):
        names = current.__globals__
        for name in _names_read(current.__code__):
            stand_in = replacement(names.get(name))
            if stand_in is not None:
                replaced.append((names, name, names[name]))
                names[name] = stand_in
        for cell in current.__closure__ or ():
            stand_in = replacement(cell.cell_contents) if filled(cell) else None
            if stand_in is not None:
                replaced.append((cell, None, cell.cell_contents))
                cell.cell_contents = stand_in
    try:
        yield
    finally:
        for where, name, value in reversed(replaced):
            if name is None:
                where.cell_contents = value
            else:
                where[name] = value


def _system_random_stopped_for(function: Any):
    """Every OS random source, and each name the learner's functions hold one under, held still (_held_still)."""
    return _os_sources_replaced(function, _held_still)


@contextlib.contextmanager
def _clock_stopped():
    """time's clocks answer one fixed instant for a moment."""
    names = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns")
    saved = {name: getattr(time, name) for name in names}
    for name in names:
        setattr(time, name, (lambda: 1_700_000_000_000_000_000) if name.endswith("_ns") else (lambda: 1_700_000_000.0))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(time, name, value)


def _challenge_hint(verifier: str, challenge: str) -> str | None:
    """What is wrong with this challenge for this verifier, or None if it is right."""
    expected = _s256(verifier)
    if challenge == expected:
        return None
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    standard = base64.b64encode(digest).decode("ascii")
    if challenge in (standard, standard.rstrip("=")) and ("+" in standard or "/" in standard):
        return ("that is standard base64 (with + and /). PKCE uses base64url: base64.urlsafe_b64encode(), "
                "then .rstrip('=').")
    if challenge == expected + "=":
        return "close: strip the '=' padding at the end. RFC 7636 §4.2 uses base64url without padding: .rstrip('=')."
    if challenge == digest.hex():
        return ("that is the hex digest (64 characters). The challenge is the base64url encoding of the raw "
                "digest: base64.urlsafe_b64encode(hashlib.sha256(...).digest()).")
    return ("the challenge is not BASE64URL(SHA256(code_verifier)): hash the verifier's ASCII bytes with "
            "hashlib.sha256(...).digest(), base64url-encode the digest, and strip the '='.")


# -- exercise 2 ---------------------------------------------------------------------------

class _RecordingSession:
    """Stands in for requests.Session: records each call and answers with a made-up response."""

    def __init__(self, answer: requests.Response) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, dict]] = []
        self.verify: Any = True  # requests.Session's defaults, which the learner's function might change
        self.trust_env = True
        self.auth: Any = None

    def post(self, url, data=None, json=None, **kwargs):
        return self.request("POST", url, data=data, json=json, **kwargs)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def request(self, method, url, **kwargs):
        self.calls.append((method.upper(), url, kwargs))
        return self.answer


def _token_response(status: int, body: dict) -> requests.Response:
    return fake_response(status, {"Cache-Control": "no-store"}, TOKEN_URL, json=body)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError):
        return None
    return user, password


def exchange_code(function: Any) -> None:
    """04, exercise 2: the confidential web client notes-web trades a code for tokens, correctly."""
    if placeholder(function) or not_a_function(function, "checks.exchange_code(exchange_code)"):
        return
    secret = str(demo.client(WEB_CLIENT_ID)["client_secret"])
    # Letters and digits only: percent-encoded or form-encoded, they stay as they are, so a print shows them
    code, verifier = "checkcode" + "c" * 35, "checkverifier" + "v" * 42
    fake_access_token, fake_refresh_token = "check-access-token", "check-refresh-token-" + "r" * 20
    # The tokens reach the function as session.post's answer, not as an argument: run() is told of them
    handed = (fake_access_token, fake_refresh_token, code, verifier)
    session = _RecordingSession(_token_response(200, {
        "access_token": fake_access_token, "token_type": "Bearer", "expires_in": 300,
        "refresh_token": fake_refresh_token, "scope": "profile notes:read"}))
    outcome = run(function, session, TOKEN_URL, code, verifier, secrets=handed)
    result, printed, error = outcome.value, outcome.printed, outcome.error
    if error:
        if not session.calls:
            return not_yet("your function sent nothing through `session` before it raised "
                           f"{type(error).__name__}. Call session.post(token_url, ...) with the session it is given.")
        return not_yet(f"for a 200 answer with tokens, your function raised {type(error).__name__}: "
                       f"{_redact(str(error), secret)[:200]}")
    if not session.calls:
        return not_yet("your function did not call session.post(...). Use the session it is given (the check passes "
                       "a stand-in that records the request instead of sending it).")
    if len(session.calls) > 1:
        return not_yet(f"your function sent {len(session.calls)} token requests for one code. A code works once "
                       "(RFC 6749 §4.1.2): a second use is refused, and the server also revokes the tokens the "
                       "first one bought (section 4, 'using a code twice'). Send it once; if that fails, start "
                       "a new authorization request.")
    if session.auth is not None:
        return not_yet("your function set session.auth: from then on the session sends notes-web's client secret "
                       "with every request it makes, to every host, the API included. Pass the client's "
                       "credentials to this one request: session.post(..., auth=(quote_plus(WEB_CLIENT_ID), "
                       "quote_plus(WEB_CLIENT_SECRET))).")
    method, url, kwargs = session.calls[0]
    if method != "POST":
        return not_yet(f"the token request is a POST (RFC 6749 §3.2); yours was a {method}.")
    if kwargs.get("json") is not None:
        return not_yet("the token endpoint takes a form, not JSON (RFC 6749 §4.1.3): pass data={...}, not json=.")
    try:
        prepared = _prepared(url, kwargs)
    except Exception as error:
        return not_yet(f"requests could not build that request: {type(error).__name__}: "
                       f"{_redact(str(error), secret)[:160]}")
    query = parse_qs(urlsplit(prepared.url).query)
    if query:
        return not_yet("parameters went in the URL, and URLs end up in logs. Send them in the form body: data={...}.")
    if urlsplit(prepared.url)._replace(query="").geturl() != TOKEN_URL:
        return not_yet("the request did not go to token_url. Post to the URL your function is given.")
    media_type = prepared.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return not_yet(f"the request went with {'Content-Type: ' + media_type if media_type else 'no Content-Type'}; "
                       "the token endpoint reads only application/x-www-form-urlencoded (RFC 6749 §4.1.3), and the "
                       "practice API answers 400 invalid_request. Pass the form as a dict, data={...}: requests "
                       "encodes it and sets that Content-Type. Set no Content-Type header of your own.")
    body = prepared.body if isinstance(prepared.body, str) else (prepared.body or b"").decode("utf-8", "replace")
    fields = parse_qs(body, keep_blank_values=True)
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:
        return not_yet(f"the form sends {repeated[0][:40]!r} more than once; RFC 6749 §3.1 says a parameter MUST NOT "
                       "be included more than once, and the practice API answers 400 invalid_request.")
    form = {name: values[0] for name, values in fields.items()}
    if "client_secret" in form:
        return not_yet("the client secret went in the form body. RFC 6749 §2.3.1 does NOT RECOMMEND that, and the "
                       "practice API answers 401 invalid_client. Use HTTP Basic: "
                       "auth=(quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET)).")
    credentials = _basic_credentials(prepared.headers.get("Authorization", ""))
    if credentials is None:
        return not_yet("notes-web is a confidential client: it authenticates with HTTP Basic, "
                       "auth=(quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET)). No Authorization: Basic "
                       "header was sent.")
    if credentials[0] not in (WEB_CLIENT_ID, quote_plus(WEB_CLIENT_ID)):
        return not_yet(f"the Basic credentials name the client {credentials[0][:40]!r}; this is {WEB_CLIENT_ID}.")
    if credentials[1] not in (secret, quote_plus(secret)):  # alike for the demo secret: _form_encoding_problem tells
        return not_yet("the Basic credentials hold the wrong secret for notes-web. Use WEB_CLIENT_SECRET.")
    if form.get("grant_type") != "authorization_code":
        return not_yet(f"grant_type should be 'authorization_code', not {form.get('grant_type')!r}.")
    if form.get("code") != code:
        return not_yet("send the code your function is given, as code=.")
    if "code_verifier" not in form:
        return not_yet("code_verifier is missing. PKCE only protects the code if the token request proves "
                       "you made the challenge: send code_verifier=.")
    if form["code_verifier"] != verifier:
        return not_yet("send the code_verifier your function is given (not the challenge).")
    if "redirect_uri" not in form:
        return not_yet("redirect_uri is missing. It was in the authorization request, so the token request must "
                       "repeat it (RFC 6749 §4.1.3): WEB_REDIRECT_URI.")
    if form["redirect_uri"] != WEB_REDIRECT_URI:
        return not_yet(f"redirect_uri must be notes-web's registered one, exactly: {WEB_REDIRECT_URI}.")
    problem = timeout_problem(kwargs.get("timeout"))
    if problem:
        return not_yet(problem)
    verify, where = kwargs.get("verify"), "verify="
    if verify is None:  # as in requests: verify= left out (or None) means the session's setting
        verify, where = session.verify, "session.verify = "
    # False, 0 and "" turn the certificate check off in requests; so does a session's None, which its
    # adapter checks for truth (HTTPAdapter.cert_verify).
    if verify is None or verify_off(verify):
        return not_yet(f"{where}{verify!r} turns off the certificate check, so anyone on the network path could "
                       "pose as the token endpoint and take the code, the verifier and the client secret. Leave "
                       "verify= and session.verify alone (True is the default), or give either the path of a CA bundle.")
    if fake_access_token in printed or fake_refresh_token in printed:
        return not_yet("your function prints (or logs) a token. Tokens are secrets: never print them.")
    shown = [what for what, value in [("the client secret", secret), ("the client secret", quote_plus(secret)),
                                      ("the Authorization header", prepared.headers["Authorization"].partition(" ")[2]),
                                      ("the code_verifier", verifier), ("the authorization code", code)]
             if value and value in printed]
    if shown:
        return not_yet(f"your function prints (or logs) {shown[0]}: a secret, which would be saved in the notebook's "
                       "outputs. Print nothing secret: at most the names of what you send.")
    if isinstance(result, requests.Response):
        return not_yet("return the token response as a dict: response.json(), after response.raise_for_status().")
    if not isinstance(result, dict) or result.get("access_token") != fake_access_token:
        return not_yet(f"return the token response, response.json(): a dict with access_token. It returned "
                       f"{a_kind(result)}.")

    refused = _RecordingSession(_token_response(400, {"error": "invalid_grant",
                                                      "error_description": "The authorization code has expired."}))
    outcome = run(function, refused, TOKEN_URL, code, verifier, secrets=handed)
    if not outcome.error:  # a refused exchange must raise, not look like tokens
        return not_yet("when the server answers 400 invalid_grant, your function returned "
                       f"{a_kind(outcome.value)} instead of raising. "
                       "Call response.raise_for_status() before response.json().")
    # requests' post() follows redirects by default; Session.send follows none `if not allow_redirects`,
    # so 0 and None are as good as False
    if kwargs.get("allow_redirects", True):
        return not_yet("your function follows redirects (requests' post() does, unless told not to). A token "
                       "endpoint answers 200 or an error, never a redirect: a 307 or 308 would make requests send "
                       "the same form, the code and the code_verifier, to whatever host its Location names. Add "
                       "allow_redirects=False, as login() does in notebook 03, and refuse any status but 200.")
    moved = _RecordingSession(fake_response(307, {"Location": "https://elsewhere.test/token"}, TOKEN_URL,
                                            json={"note": "moved"}))
    outcome = run(function, moved, TOKEN_URL, code, verifier, secrets=handed)
    if not outcome.error:
        return not_yet("when the token endpoint answers 307 Temporary Redirect, your function returned "
                       f"{a_kind(outcome.value)} instead of raising. raise_for_status() lets a redirect through "
                       "(it raises for 4xx and 5xx only): after it, `if response.status_code != 200:` raise "
                       "requests.HTTPError.")
    problem = _form_encoding_problem(function, code, verifier)
    if problem:
        return not_yet(problem)
    right("a POST with the form (grant_type, code, redirect_uri, code_verifier), the client authenticated with "
          "HTTP Basic after form-encoding, a timeout, no redirect followed, and an exception when the server "
          "refuses or redirects.")


def _prepared(url: str, kwargs: dict) -> requests.PreparedRequest:
    """The request requests would build from a recorded post(): body, headers and Authorization."""
    return requests.Request("POST", url, data=kwargs.get("data"), headers=kwargs.get("headers"),
                            params=kwargs.get("params"), auth=kwargs.get("auth")).prepare()


ODD_SECRET = "check+secret:50%-é"  # + : % and a non-ASCII letter: each changes when form-encoded


def _form_encoding_problem(function: Any, code: str, verifier: str) -> str:
    """'' unless the Basic credentials carry a client secret as it is, not form-encoded (RFC 6749 §2.3.1).

    The demo secret encodes to itself, so raw and encoded look alike. For one call the check swaps
    the WEB_CLIENT_SECRET the function reads for one that does not, and puts the real one back. A
    function that holds the secret under another name is not tried.
    """
    names = getattr(function, "__globals__", None)
    real = str(demo.client(WEB_CLIENT_ID)["client_secret"])
    if not isinstance(names, dict) or names.get("WEB_CLIENT_SECRET") != real:
        return ""
    original = names["WEB_CLIENT_SECRET"]
    session = _RecordingSession(_token_response(200, {"access_token": "check-access-token", "token_type": "Bearer",
                                                      "expires_in": 300}))
    names["WEB_CLIENT_SECRET"] = ODD_SECRET
    try:
        outcome = run(function, session, TOKEN_URL, code, verifier,
                      secrets=("check-access-token", code, verifier, ODD_SECRET, quote_plus(ODD_SECRET)))
    finally:
        names["WEB_CLIENT_SECRET"] = original
    header = ""
    if session.calls:
        _method, url, kwargs = session.calls[0]
        with contextlib.suppress(Exception):
            header = _prepared(url, kwargs).headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    try:
        sent = base64.b64decode(value, validate=True) if scheme.lower() == "basic" else b""
    except binascii.Error:
        sent = b""
    if sent.endswith(b":" + quote_plus(ODD_SECRET).encode("ascii")) or real.encode("utf-8") in sent:
        return ""  # form-encoded; or the swap did not reach the secret the function sends
    what = (f"raised {type(outcome.error).__name__}" if outcome.error and not session.calls
            else "did not send it form-encoded in the Basic credentials")
    return (f"with a client secret that holds '+', ':', '%' and 'é' ({ODD_SECRET!r}: for one call the check put it "
            f"in WEB_CLIENT_SECRET), your function {what}. RFC 6749 §2.3.1: client_id and client_secret are "
            "form-encoded (application/x-www-form-urlencoded) before they go into HTTP Basic; the demo secret only "
            "happens to encode to itself. Use auth=(quote_plus(WEB_CLIENT_ID), quote_plus(WEB_CLIENT_SECRET)).")


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, MASK)


# -- exercise 3 ---------------------------------------------------------------------------

def next_interval(function: Any) -> None:
    """04, exercise 3: while polling for the device grant, how long to wait after each refusal or timeout (RFC 8628 §3.5)."""
    if placeholder(function) or not_a_function(function, "checks.next_interval(next_interval)"):
        return

    def answer(status: int, error: str | None, description: str = "") -> requests.Response:
        if error is None:
            return fake_response(status, {"Content-Type": "text/html"}, TOKEN_URL,
                                 text="<html><body>Bad gateway</body></html>")
        return _token_response(status, {"error": error, "error_description": description})

    pending, slow_down = "authorization_pending", "slow_down"
    keep_polling = [
        (pending, 5, 5, "authorization_pending with interval 5"),
        (slow_down, 5, 10, "slow_down with interval 5"),
        (slow_down, 10, 15, "a second slow_down, with interval 10"),
        (pending, 15, 15, "authorization_pending after two slow_downs (interval 15)"),
    ]
    for error, interval, expected, described in keep_polling:
        response = answer(400, error, "Keep polling." if error == pending else "Polling too fast.")
        outcome = run(function, response, interval)
        got, raised = outcome.value, outcome.error
        if raised:
            if error == pending:
                return not_yet(f"for {described}, your function raised {type(raised).__name__}. authorization_pending "
                               "is not a failure: the person has not finished yet. Keep polling: return interval. "
                               "(raise_for_status() raises for every 400, so decide on the error code first.)")
            return not_yet(f"for {described}, your function raised {type(raised).__name__}. slow_down means: keep "
                           "polling, but 5 seconds slower. Return interval + 5.")
        if got is None:
            return not_yet("your function returned None. Replace the `...` with code that returns a number of seconds.")
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return not_yet(f"for {described}, it returned {a_kind(got)}; return a number of seconds.")
        if got == expected:
            continue
        if error == slow_down and got == 10 != interval + 5:
            return not_yet("add 5 to the interval you are given; 10 is right only the first time.")
        if error == slow_down and got == interval:
            return not_yet("after slow_down, the interval MUST grow by 5 seconds, for this and every later poll "
                           "(RFC 8628 §3.5). Return interval + 5.")
        if error == slow_down:
            return not_yet(f"for {described}, it returned {got}; RFC 8628 §3.5 says exactly 5 seconds more: "
                           f"{expected}.")
        if got == 5:
            return not_yet(f"for {described}, it returned 5. Keep the interval you are given: after a slow_down it "
                           "stays longer for every later poll.")
        return not_yet(f"for {described}, it returned {got}; keep polling at the same pace: return interval ({expected}).")

    must_stop = [
        (answer(400, "access_denied", "The user denied the request."), "access_denied",
         "the person pressed Deny: stop, and tell them access was not granted."),
        (answer(400, "expired_token", "The device code has expired."), "expired_token",
         "the device code expired: stop, and start again with a new device authorization request."),
        (answer(400, "invalid_grant", "The device code is not known for this client."), "invalid_grant",
         "an error this loop cannot fix: stop rather than poll forever."),
        (answer(401, "invalid_client", "Unknown client."), "a 401 invalid_client",
         "an error this loop cannot fix: stop rather than poll forever."),
        (answer(404, None), "a 404 with an HTML page", "an answer that is not an OAuth error at all: stop."),
    ]
    for response, described, why in must_stop:
        outcome = run(function, response, 5)
        got, raised = outcome.value, outcome.error
        if raised:
            if _is_device_flow_error(raised):
                continue
            if isinstance(raised, ValueError) and response.status_code == 404:
                return not_yet(f"for {described}, your function raised {type(raised).__name__}, not DeviceFlowError: "
                               "response.json() fails on a page that is not JSON. Catch ValueError around it, "
                               "then raise DeviceFlowError.")
            if isinstance(raised, requests.HTTPError):
                return not_yet(f"for {described}, your function raised HTTPError (from raise_for_status()), not "
                               "DeviceFlowError. Raise DeviceFlowError, so the caller can catch one exception "
                               "for 'the device grant ended'.")
            return not_yet(f"for {described}, your function raised {type(raised).__name__}, not DeviceFlowError. "
                           f"Raise DeviceFlowError: {why}")
        return not_yet(f"for {described}, your function returned {got!r}, so the loop would keep polling. "
                       f"Raise DeviceFlowError instead: {why}")

    # A gateway that is down for a moment (502, 503) or a 429: RFC 8628 says nothing of these, so stopping
    # is right, and so is treating them like a timeout (poll less often, then retry). Polling on at the same
    # pace is not.
    for status in (502, 503, 429):
        described = f"a {status} with an HTML page"
        outcome = run(function, answer(status, None), 5)
        got, raised = outcome.value, outcome.error
        if raised:
            if _is_device_flow_error(raised):
                continue
            return not_yet(f"for {described}, your function raised {type(raised).__name__}, not DeviceFlowError. "
                           "Raise DeviceFlowError (or, as after a timeout, return a longer interval): an answer that "
                           "is not an OAuth error at all.")
        problem = _slower_problem(got, 5)
        if problem:
            return not_yet(f"for {described}, your function returned {got!r}: {problem} Either raise DeviceFlowError, "
                           "or wait longer before the next poll, as after a timeout.")

    # RFC 8628 §3.5: on a connection timeout the client MUST reduce its polling frequency, then retry.
    for timeout, interval in [(requests.ReadTimeout("no answer within 5 s"), 5),
                              (requests.ConnectTimeout("no connection within 5 s"), 10),
                              (requests.ReadTimeout("no answer within 5 s"), 20)]:
        described = f"a poll that timed out ({type(timeout).__name__}, with interval {interval})"
        outcome = run(function, timeout, interval)
        got, raised = outcome.value, outcome.error
        if raised:
            return not_yet(f"for {described}, your function raised {type(raised).__name__}. The check passes the "
                           "requests.Timeout the poll raised, in place of a response: a timeout is not the end. "
                           "RFC 8628 §3.5: poll less often, then retry. Check isinstance(response, "
                           "requests.Timeout) first, and return a longer interval, such as interval * 2.")
        if got is None or isinstance(got, bool) or not isinstance(got, (int, float)):
            return not_yet(f"for {described}, it returned {a_kind(got)}; return a number of seconds.")
        problem = _slower_problem(got, interval)
        if problem:
            return not_yet(f"for {described}, it returned {got!r}: {problem} After a timeout the device MUST poll "
                           "less often before it retries (RFC 8628 §3.5): return more than interval, such as "
                           "interval * 2.")
    right("pending: same pace; slow_down: 5 s slower for good; a timeout: slower, then retry; access_denied, "
          "expired_token and anything else: stop.")


def _is_device_flow_error(raised: BaseException) -> bool:
    """True for the notebook's DeviceFlowError or a subclass of it (by name: each run of the cell makes a new class)."""
    return any(kind.__name__ == "DeviceFlowError" for kind in type(raised).__mro__)


def _slower_problem(got: Any, interval: float) -> str:
    """What is wrong with `got` as the wait before the next poll, slower than `interval`; "" if nothing.

    Finite and bounded: time.sleep(nan) raises ValueError, time.sleep(inf) OverflowError, and a
    wait of hours outlives the device code (600 s on the practice API) anyway.
    """
    if got is None or isinstance(got, bool) or not isinstance(got, (int, float)):
        return f"{a_kind(got)}, not a number of seconds."
    if not math.isfinite(got):
        return "not a finite number of seconds, so time.sleep() cannot wait that long (it raises)."
    if got <= interval:
        return "not longer than the interval, so the next poll comes just as soon."
    limit = max(4 * interval, 60)
    if got > limit:
        return f"far longer than needed: the device code would expire first. Stay at or below {limit} s."
    return ""

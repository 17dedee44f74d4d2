"""What every check shares, so that each check reads as its table of cases and what is special about it.

- How it talks: "✓ Right: ..." or "✗ Not yet: ..." (right, not_yet), one line, never a traceback.
- What the learner passed: the untouched `...` (placeholder, unless_stub), a value instead of the
  function (not_a_function), requests.Session itself instead of a session (session_not_made).
- Running the learner's function: run() calls it with its output captured and its exception kept
  (Outcome); raised() and one_line() quote that exception; fake_response() builds its input. What
  run() captured is shown after the verdict (right, not_yet), unless it holds a secret: then only
  how many lines, and a "Right" becomes "Not yet" (a printed secret is saved in the notebook).
- What a session or a call really sends: auth objects, verify, timeouts, and credentials put in the
  URL, another header or a cookie (query_pairs, url_of, secret_elsewhere).
"""
from __future__ import annotations

import base64
import contextlib
import dis
import functools
import html
import io
import json as json_module
import logging
import math
import os
import re
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import requests
import urllib3

from helpers.practice_api import demo
from helpers.viewers import a_kind

PRACTICE_URL = demo.BASE_URL  # where the in-process practice API answers
MASK = "••••••••"  # in place of a secret that a message quotes
WIDTH = 88  # columns of a check's line in a notebook: JupyterLab's output area holds about 107 at 1280 px


SHOWN_LINES = 12  # at most this many captured lines are shown after a verdict
# A JWT (JWS compact form: base64url header, "eyJ" for '{"', a dot, the payload, a dot, the signature). The
# look-behind lets a match start only where a word starts, so a long run of "eyJ" is scanned once, not once
# per "eyJ" in it (which took seconds for 60 KB, and grows with the square of the length).
JWT_LIKE = re.compile(r"(?<![\w-])eyJ[\w-]*\.[\w-]+\.[\w-]*")
# Between the segments of a JWT printed in pieces: its parts as a list ("['eyJ…', 'eyJ…', '…']"), or spaced out.
JWT_GLUE = re.compile(r"[\s'\",.]+")
# A JWT once JWT_GLUE's runs are dots: its payload, a JSON object, starts with "eyJ" too (as '{"' does), which
# tells it from a word that merely follows a printed JWT header.
JWT_PIECES = re.compile(r"(?<![\w-])eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*")
# Keys of a dict (a token response, a form) whose string values are secrets.
SECRET_NAMES = frozenset({"access_token", "refresh_token", "id_token", "device_code", "code", "code_verifier",
                          "password", "client_secret", "secret", "key", "api_key", "token"})
PRINTED_SECRET = ("your function printed or logged a secret (a token, password or key) while the check ran it. "
                  "Whatever a cell prints is saved in the .ipynb file, and from there into git: remove that "
                  "print or log call, or print something harmless instead (a status code, a length).")

# Since the last verdict, for each run(): what it captured, the secrets it handed the function, and the
# values that may be secrets (a code, a verifier: only the check knows, and it may judge them itself).
_captured: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []


def right(message: str) -> None:
    _verdict(f"✓ Right: {message}", right=True)


def not_yet(message: str) -> None:
    _verdict(f"✗ Not yet: {message}", right=False)


def _verdict(line: str, *, right: bool) -> None:
    """Say the verdict, then what the learner's function printed while run() ran it.

    Captured output is the learner's: a debug print must not vanish. But it is shown only when
    it holds no secret the check knows of (a demo credential, one the check handed the function,
    any JWT, in any form holds_secret() looks for): otherwise only how many lines, and a "Right"
    turns into "Not yet", since a printed secret would be saved in the notebook just the same.
    """
    printed, secrets, unsure = _take_captured()
    leaked = _holds_secret(printed, secrets)
    if right and leaked:
        line = f"✗ Not yet: {PRINTED_SECRET}"
    if printed and (leaked or any(value in printed for value in unsure)):  # no secret is shown: only how much was printed
        line += (f" ({_lines(printed)} printed while the check ran your function; not shown: they "
                 f"{'hold' if leaked else 'may hold'} a secret.)")
    elif printed:
        line += f" (While the check ran it, your function printed {_lines(printed)}: {_quoted(printed)})"
    say(line)  # one line still: the verdict and what was printed go together


def _take_captured() -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What run() captured since the last verdict, the secrets of those calls, and the values that may
    be secrets (see run()); then forget them."""
    printed = "".join(text for text, _, _ in _captured)
    secrets = tuple(secret for _, handed, _ in _captured for secret in handed)
    unsure = tuple(value for _, _, values in _captured for value in values)
    _captured.clear()
    return printed, secrets, unsure


def _lines(printed: str) -> str:
    """"1 line", "3 lines": how much `printed` holds."""
    count = len(printed.rstrip("\n").split("\n"))
    return f"{count} line{'s' if count != 1 else ''}"


def _quoted(printed: str) -> str:
    """What was printed, each line quoted, on one line and short: shown with the verdict."""
    lines = printed.rstrip("\n").split("\n")
    text = " ".join(f"«{line.strip()[:120]}»" for line in lines[:SHOWN_LINES])
    return text + (f" … and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else "")


def holds_secret(printed: str, secrets: Iterable[str] = ()) -> bool:
    """True when what a learner's code printed (or logged, or displayed) gives away a secret: a JWT, a demo
    credential, or one of `secrets`, as it is or in a form a print shows it in (see _holds_secret)."""
    return _holds_secret(printed, secrets)


def _holds_secret(printed: str, secrets: Iterable[str]) -> bool:
    """True when `printed` holds a JWT, a demo credential, or one of `secrets`, also in a form that still
    gives the secret away.

    A learner's debug print seldom shows a secret as it is: print(response.request.body) shows a password
    URL-encoded, print(json.dumps(...)) escapes it, print(value.encode()) shows a bytes repr, and a token
    may come out as hex or base64, a JWT as the list of its parts or spaced out. Each of these forms of
    each secret is looked for (secret_forms), a JWT also in the text with the quotes, commas and spaces
    between its segments turned into dots, and each secret also in the text without any whitespace (a
    password printed one character at a time). Each search is linear in the length of `printed`.
    """
    if not printed:
        return False
    if JWT_LIKE.search(printed) or JWT_PIECES.search(JWT_GLUE.sub(".", printed)):
        return True
    lowered = printed.lower()  # hex may be printed in capitals
    squeezed = "".join(printed.split())
    for secret in (*secrets, *_demo_secrets()):
        if not secret:
            continue
        if "".join(secret.split()) in squeezed and secret.strip():
            return True
        if any(form in printed for form in secret_forms(secret)) or secret.encode("utf-8").hex() in lowered:
            return True
    return False


@functools.lru_cache(maxsize=512)
def secret_forms(secret: str) -> tuple[str, ...]:
    """`secret` and the forms a print or log shows it in: URL-encoded (a form body, a query), JSON-escaped,
    the inside of a bytes repr, and standard or URL-safe base64, with padding and without."""
    raw = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json_module.dumps(secret)[1:-1],
             repr(raw)[2:-1]}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update((text, text.rstrip("=")))
    return tuple(form for form in forms if form)


def _demo_secrets() -> tuple[str, ...]:
    """Every demo credential of the practice API, and the Basic-auth base64 forms that carry a password."""
    import unicodedata

    found = [str(entry["key"]) for entry in demo.API_KEYS]
    found += [str(entry["client_secret"]) for entry in demo.CLIENTS if entry.get("client_secret")]
    found += [entry["secret"] for entry in demo.SIGNING_KEYS]
    for user in demo.USERS:
        for form in ("NFC", "NFD"):
            password = unicodedata.normalize(form, user["password"])
            found.append(password)
            pair = f"{user['username']}:{password}".encode("utf-8")
            found.append(base64.b64encode(pair).decode("ascii"))
            found.append(f"{user['username']}:{password}")  # so that its URL-encoded and other forms are looked for
    return tuple(found)


def _maybe_secrets(args: tuple, result: Any) -> tuple[str, ...]:
    """The strings that could be a secret: each text argument of 8 characters or more that is not a URL (a
    password, a header line), and each one-word string of 16 or more in the result (a code_verifier)."""
    found = [arg for arg in args if isinstance(arg, str) and len(arg) >= 8 and "://" not in arg]
    for item in result if isinstance(result, (tuple, list)) else [result]:
        if isinstance(item, str) and len(item) >= 16 and "://" not in item and not any(c.isspace() for c in item):
            found.append(item)
    return tuple(found)


def _secrets_in(value: Any, depth: int = 0) -> list[str]:
    """The secrets a check hands the learner's function: string values under SECRET_NAMES in a dict
    (a token response), also inside lists and a response's JSON body."""
    if depth > 4:
        return []
    if isinstance(value, requests.Response):
        try:
            value = value.json()
        except ValueError:
            return []
    found = []
    if isinstance(value, dict):
        for name, item in value.items():
            if isinstance(item, str) and str(name).lower() in SECRET_NAMES and len(item) >= 8:
                found.append(item)
            else:
                found += _secrets_in(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += _secrets_in(item, depth + 1)
    return found


def say(line: str) -> None:
    """Print one line of feedback; in a notebook, wrapped between words so that no word is cut.

    JupyterLab shows printed text in a <pre> styled `word-break: break-all` (`.jp-OutputArea-output pre`
    in @jupyterlab/outputarea), so a line longer than the output area wraps at its edge in the middle of
    a word ("B" | "earerAuth"). Wrapped here first, at spaces only (not at the hyphen of X-API-Key), each
    line fits in the output area; continuation lines are indented, so the feedback still reads as one.
    A token longer than a line stays whole. Outside IPython (a script, a test) the line goes out as it is.
    """
    if _in_ipython():
        line = textwrap.fill(line, WIDTH, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)
    print(line)


def _in_ipython() -> bool:
    """True in a notebook's kernel (or an IPython shell), where show() displays HTML too."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def placeholder(value: Any) -> bool:
    """True (after saying so) while the learner has not replaced the `...` in the exercise cell."""
    _captured.clear()  # a check starts here: nothing of an earlier one is shown with its verdict
    if value is ... or value is None:
        not_yet("replace the `...` in the cell with your code, then run the cell again.")
        return True
    return False


ZONE_LOCK = threading.RLock()  # TZ is one per process: one check at a time changes it (re-entrant: no deadlock)


@contextlib.contextmanager
def local_time(zone: str) -> Iterator[None]:
    """Run the learner's function with `zone` (a POSIX TZ value) as local time, then put the kernel's back.

    time.mktime(), time.localtime() and naive datetimes use local time; HTTP dates (RFC 9110 §5.6.7) and
    AWS's X-Amz-Date are UTC, so a function that mixes them is off by the UTC offset, which is 0 on many
    servers, in CI and on Binder. Without time.tzset() (Windows) the zone cannot change: the check then
    runs in the kernel's own. The learner's function may change TZ itself (even remove it): the kernel's
    is put back all the same. TZ belongs to the whole process: while it is moved, the kernel's other
    threads see the other zone too.
    """
    if not hasattr(time, "tzset"):
        yield
        return
    with ZONE_LOCK:
        saved = os.environ.get("TZ")
        os.environ["TZ"] = zone
        time.tzset()
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("TZ", None)
            else:
                os.environ["TZ"] = saved
            time.tzset()


def not_a_function(function: Any, call: str, *, results: tuple[type, ...] = (), what: str = "function") -> bool:
    """True (after saying so) when the learner passed something other than their function.

    `call` is how the exercise passes it, e.g. "checks.next_step(next_step)". A value of one of
    `results` is most likely what the function returned: the cell called it instead of passing it.
    A class is callable, but the exercise asks for a function: calling the class would only build one.
    `what` names the callable the exercise asks for: "function", or "signer" for an auth object.
    """
    if isinstance(function, results):
        not_yet(f"pass the {what} itself, not what it returns: {call}.")
        return True
    if callable(function) and not isinstance(function, type):
        return False
    not_yet(f"pass the {what} itself: {call}, not {a_kind(function)}.")
    return True


def session_not_made(value: Any, name: str = "session") -> bool:
    """True (after saying so) when `value` is requests.Session (or the old requests.session function)
    itself rather than a session made with it; `name` is the exercise's variable."""
    kind = "class" if value is requests.Session else "function" if value is requests.session else ""
    if kind:
        not_yet(f"that is the {kind} itself. Call it: {name} = requests.Session().")
    return bool(kind)


def unless_stub(function: Any) -> Any:
    """`...` for an exercise cell's stub, a function whose body does nothing (`...`, `pass`, a docstring).

    Pass a learner's function through it before `placeholder()`, so that an untouched stub gets
    "replace the `...`" rather than a report of what the stub returned.
    """
    code = getattr(function, "__code__", None)
    if code is None:
        return function
    instructions = [i for i in dis.get_instructions(code) if i.opname not in ("RESUME", "NOP", "CACHE", "POP_TOP")]
    does_nothing = all(i.opname in ("LOAD_CONST", "RETURN_VALUE", "RETURN_CONST") for i in instructions) and all(
        i.argval in (None, ...) for i in instructions if i.opname != "RETURN_VALUE")
    return ... if does_nothing else function


def fake_response(status: int, headers: dict[str, str] | None = None, url: str = PRACTICE_URL + "/", *,
                  json: Any = None, text: str = "") -> requests.Response:
    """A response built by hand, to feed a learner's function without calling any API.

    `json` becomes a JSON body (with its Content-Type), `text` a body as it is; neither, no body.
    """
    response = requests.Response()
    response.status_code = status
    response.reason = HTTPStatus(status).phrase
    response.headers.update(headers or {})
    response._content = text.encode("utf-8")
    if json is not None:
        response.headers["Content-Type"] = "application/json"
        response._content = json_module.dumps(json).encode("utf-8")
    response.url = url
    return response


# -- running the learner's function on a table of cases ---------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What one call of the learner's function gave: its value, or the exception it raised, and what it printed."""

    value: Any = None
    error: BaseException | None = None  # an Exception, or the SystemExit of a sys.exit()
    printed: str = ""


def run(function: Any, *args: Any, secrets: Iterable[str] = ()) -> Outcome:
    """Call the learner's function on `args`, with what it prints or logs captured, and never raise.

    A check looks at what was printed before anything reaches the notebook (a secret must not), and
    turns an exception into feedback: a wrong answer is not a traceback. What was captured is kept
    for the verdict, which shows it (or refuses it: see _verdict), together with `secrets` and the
    secrets found in `args` (a token response's tokens, say). Any other long word among the args
    and the result (a code, a code_verifier) may be a secret too: captured output that holds one is
    not shown, though only the check can tell whether printing it was wrong.

    A sys.exit() in the function is feedback too (its SystemExit is kept as the error: raised() says
    "your function called sys.exit()"). KeyboardInterrupt is not caught: the learner pressed stop,
    and the check stops with them.
    """
    with output_captured() as printed:
        try:
            value, error = function(*args), None
        except (Exception, SystemExit) as raised:  # feedback, not a traceback
            value, error = None, raised
    _captured.append((printed.getvalue(), (*secrets, *_secrets_in(list(args))), _maybe_secrets(args, value)))
    return Outcome(value, error, printed.getvalue())


def one_line(error: BaseException, hide: Iterable[str] = (), limit: int = 160) -> str:
    """An error's message on one line, short, with each secret in `hide` masked: to quote in feedback."""
    text = " ".join(str(error).split())
    for secret in hide:
        if secret:
            text = text.replace(secret, MASK)
    return text[:limit] + ("…" if len(text) > limit else "")


def raised(described: str, error: BaseException, hint: str = "", *, hide: Iterable[str] = ()) -> str:
    """"for <case>, your function raised <Error>: <message>.<hint>": the feedback for a case that raised."""
    if isinstance(error, SystemExit):
        return (f"for {described}, your function called sys.exit() (SystemExit: {one_line(error, hide) or None}), "
                "which would stop a program outright. Return the answer instead; for an error, raise an "
                "exception.")
    return f"for {described}, your function raised {type(error).__name__}: {one_line(error, hide)}.{hint}"


def safe_repr(value: Any) -> str:
    """repr(value), or '' when the learner's __repr__ fails: a check looks at it for secrets."""
    try:
        return repr(value)
    except Exception:  # a broken __repr__ shows nothing
        return ""


def filled(cell: Any) -> bool:
    """True when a closure cell holds a value (reading an empty one raises ValueError)."""
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def auth_object_problem(auth: Any, *, secret: str, make: str, tuple_hint: str) -> str:
    """Why `session.auth` cannot be the auth object the exercise asks for, or "" if it may be one.

    requests calls session.auth with each prepared request, so a class, the bare `secret` or a (user, password)
    tuple each miss in their own way. `make` is the fix, e.g. "BearerAuth(token)"; `tuple_hint` says what a
    tuple would send instead.
    """
    argument = make[make.index("("):]
    if isinstance(auth, type):
        return (f"session.auth holds the class {auth.__name__} itself. Create an object with the {secret}: "
                f"session.auth = {auth.__name__}{argument}.")
    if isinstance(auth, (str, bytes)):
        return (f"session.auth holds the {secret} itself. requests calls session.auth on every request, so wrap "
                f"the {secret} in an auth object: session.auth = {make}.")
    if isinstance(auth, tuple):
        return tuple_hint
    return ""


def verify_off(value: Any) -> bool:
    """True when `value`, given as verify= or session.verify, turns requests' certificate check off.

    requests tests it for truth (HTTPAdapter.cert_verify: `if url.lower().startswith("https") and
    verify`), so 0, "" and any other false value turn the check off just as False does. None is
    left out: as a keyword it means "use the session's setting", and a missing value reads as None.
    """
    return value is not None and not value


# -- what a learner's call really did ---------------------------------------------------------

def session_verify_problem(verify: Any, secret: str) -> str:
    """'' unless session.verify turns the certificate check off; then why, and the fix.

    None counts as off here: requests hands a session's None on to its adapter, which checks
    certificates only for a true value (unless REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE is set).
    """
    if verify is not None and not verify_off(verify):
        return ""
    return (f"session.verify = {verify!r} turns off the certificate check for every request of this session, so "
            f"anyone on the network path could pose as the server and collect {secret}. Leave session.verify "
            "alone (True), or set it to a CA bundle's path (notebook 06).")


def sent_with(response: Any) -> dict | None:
    """The keyword arguments (timeout, verify, ...) that requests passed on for the call behind `response`.

    The in-process practice API runs on `responses`, which records them on every request it
    sees: `PreparedRequest.req_kwargs`, documented in its README. They are the values the call
    really used, however the learner's code spelled them: `timeout=TIMEOUT` where TIMEOUT is None,
    `**options`, a call in another cell or inside a function. Reading the learner's source could
    tell none of that. None when the response did not come through the in-process practice API.
    """
    kwargs = getattr(getattr(response, "request", None), "req_kwargs", None)
    return dict(kwargs) if isinstance(kwargs, dict) else None


# A timeout bounds how long a client that a person waits for may hang. Hours (timeout=3600, 1e9) pass
# requests' own test (any finite number) but are no bound for an interactive client; every API this
# series calls answers in well under a second, so a minute is generous.
LONGEST_TIMEOUT = 60  # seconds


def timeout_problem(timeout: Any) -> str:
    """'' for a timeout that bounds every wait; otherwise what is wrong with it, and the fix."""
    if timeout is None:
        return ("the call has no timeout= (or timeout=None), and requests has no default: a server that never "
                "answers would hang your program forever. Add timeout=5.")
    try:
        parts = _timeout_parts(timeout)
    except Exception:  # an object of the learner's that will not say: feedback, not a traceback
        return "timeout= takes seconds, a finite number above 0, such as timeout=5."
    if any(part is None for part in parts):
        return ("a timeout of None waits forever for that part: timeout=(connect, read) needs a number for both, "
                "e.g. timeout=(3.05, 27), or one number for both, timeout=5.")
    if any(isinstance(part, bool) or not isinstance(part, (int, float)) or not 0 < part < math.inf for part in parts):
        return "timeout= takes seconds, a finite number above 0, such as timeout=5."
    if any(part > LONGEST_TIMEOUT for part in parts):
        return (f"timeout={timeout!r} lets one wait last more than {LONGEST_TIMEOUT} s: a server that hangs would "
                "hold your program about as long as no timeout at all. A few seconds is plenty: timeout=5.")
    return ""


def _timeout_parts(timeout: Any) -> tuple:
    """(connect, read): the longest each wait may last under `timeout`, as requests hands it to urllib3.

    A urllib3.Timeout is read on a started copy: its read_timeout depends on the time the connect
    took, and raises TimeoutStateError before the connect timer has started. A part left at
    urllib3's default means the socket default, which is None (no limit) unless
    socket.setdefaulttimeout() changed it.
    """
    if isinstance(timeout, tuple):
        return timeout
    if not isinstance(timeout, urllib3.Timeout):
        return timeout, timeout
    started = timeout.clone()
    started.start_connect()
    return urllib3.Timeout.resolve_default_timeout(started.connect_timeout), started.read_timeout


def sent_problem(response: Any) -> str:
    """'' when the call behind `response` had a timeout and checked certificates; otherwise the hint."""
    kwargs = sent_with(response) or {}
    if verify_off(kwargs.get("verify")):
        return (f"verify={kwargs['verify']!r} turns off the certificate check, so anyone on the network path could "
                "pose as the server and read what you send. Leave verify= out (True is the default), or give it "
                "the path of a CA bundle (notebook 06).")
    return timeout_problem(kwargs.get("timeout"))


def query_pairs(params: Any) -> list[tuple[str, str]]:
    """The (name, value) pairs that `params` (session.params, or params= on a call) adds to every URL.

    requests takes a mapping (a value may be a list: one pair per item), a list of pairs, or a query
    string as str or bytes, which it appends as it is. A check that looked at mappings only would
    miss `session.params = "access_token=..."`, which puts the token in the URL just the same.
    """
    if isinstance(params, (bytes, bytearray)):
        params = bytes(params).decode("utf-8", "replace")
    if isinstance(params, str):
        return parse_qsl(params.lstrip("?"), keep_blank_values=True)
    try:
        items = list(params.items()) if hasattr(params, "items") else list(params or [])
    except TypeError:
        return []
    pairs = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            name, values = item
            for value in values if isinstance(values, (list, tuple)) else [values]:
                pairs.append((str(name), str(value)))
    return pairs


def secret_elsewhere(session: requests.Session, holds_secret: Any, skip: tuple[str, ...] = ()) -> str:
    """Where a session's headers (except those in `skip`) or cookies carry a secret: "the X-Token header",
    "a cookie", or ''. `holds_secret(text)` tells a secret. A learner who put it there gets its place named,
    not only "session.auth is not set"."""
    for name, value in session.headers.items():
        if name.lower() not in skip and holds_secret(str(value)):
            return f"the {name[:40]} header"
    if any(holds_secret(str(cookie.value)) for cookie in session.cookies):
        return "a cookie"
    return ""


def url_of(value: Any) -> str:
    """The URL a learner passed where a check wanted a session: a str that looks like one, or a
    response's or prepared request's. '' for anything else (a bare token is not a URL)."""
    if isinstance(value, requests.Response):
        value = value.request if value.request is not None else value.url
    if isinstance(value, requests.PreparedRequest):
        value = value.url
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) and ("/" in value or "?" in value) else ""


def credentials_in_url(url: Any) -> bool:
    """True when `url` carries a user:password@ part, which ends up in logs and browser history."""
    try:
        parts = urlsplit(str(url or ""))
        return parts.username is not None or parts.password is not None
    except ValueError:  # a malformed port, say: not ours to judge here
        return False


@contextlib.contextmanager
def output_captured() -> Iterator[io.StringIO]:
    """Collect what a learner's code prints or logs while a check runs it, so the check can look at it first.

    A function that prints a key or a password would put the secret into the notebook's saved
    outputs; the check says so instead of letting it through. Logging needs more than redirecting
    sys.stderr: a handler keeps the stream it was given. So, for the duration, every logger's
    handlers are set aside, every logger propagates (a logger with propagate = False would
    otherwise hand its records to no handler at all, and the check would miss what it logs), and
    the root logger, at DEBUG, writes every record that reaches it into the same text: what the code
    logs reaches no handler of the notebook, and the check sees it.

    Two more ways out reach a notebook's outputs without sys.stdout. In IPython, display(...) (and so
    show() and show_jwt()) publishes rich output: it is captured too, and its text (text/plain, and
    the text of text/html and other text formats) is added to what was printed. And writes to file
    descriptors 1 and 2 (os.write(1, ...), print(file=sys.__stdout__), a C library's output), which
    ipykernel forwards to the notebook: for the duration each is pointed at a temporary file (os.dup2),
    then put back (so another thread's writes to them during the call are captured too). What cannot be
    checked: a file the code opens itself (say /dev/tty), output of a thread or process that outlives
    the call, and a display() made through another IPython shell.
    """
    printed = io.StringIO()
    handler = logging.StreamHandler(printed)
    handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    root = logging.getLogger()
    loggers = [root, *(logger for logger in list(logging.Logger.manager.loggerDict.values())
                       if isinstance(logger, logging.Logger))]
    saved = [(logger, logger.handlers, logger.propagate) for logger in loggers]
    saved_level = root.level
    for logger in loggers:
        logger.handlers = []
        logger.propagate = True
    root.handlers = [handler]
    root.setLevel(logging.DEBUG)
    try:
        with _descriptors_captured(printed), _displays_captured(printed):
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                yield printed
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate
        root.setLevel(saved_level)


@contextlib.contextmanager
def _displays_captured(printed: io.StringIO) -> Iterator[None]:
    """In IPython, collect what display() publishes, and add its text to `printed` at the end."""
    if not _in_ipython():
        yield
        return
    from IPython.utils.capture import capture_output

    with capture_output(stdout=False, stderr=False, display=True) as captured:
        try:
            yield
        finally:
            for output in captured.outputs:
                printed.write(_display_text(output.data))


def _display_text(data: Any) -> str:
    """The text of one display's mime bundle: text/plain, and the text of text/html (tags dropped,
    entities read) and of any other text format or JSON, a line each."""
    parts = []
    for mime, value in (data or {}).items():
        if mime == "text/html" and isinstance(value, str):
            value = html.unescape(re.sub(r"<[^<>]*>", "", value))
        elif mime == "application/json" or mime.endswith("+json"):
            value = json_module.dumps(value)
        elif not (mime.startswith("text/") and isinstance(value, str)):
            continue  # an image: no text to read
        parts.append(value if value.endswith("\n") else value + "\n")
    return "".join(parts)


@contextlib.contextmanager
def _descriptors_captured(printed: io.StringIO) -> Iterator[None]:
    """Point file descriptors 1 and 2 at a temporary file for the duration, then add what reached it to
    `printed`. A descriptor that is not open (pythonw on Windows has none) is left alone."""
    streams = [stream for stream in (sys.__stdout__, sys.__stderr__, sys.stdout, sys.stderr) if stream is not None]
    with tempfile.TemporaryFile() as spool:
        saved = []
        try:
            _flush(streams)  # what was printed before belongs where it was going
            for fd in (1, 2):
                try:
                    saved.append((fd, os.dup(fd)))
                except OSError:
                    continue
                os.dup2(spool.fileno(), fd)
            yield
        finally:
            _flush(streams)  # what Python still buffers for fd 1 or 2 goes into the spool
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
            spool.seek(0)
            printed.write(spool.read().decode("utf-8", "replace"))


def _flush(streams: list[Any]) -> None:
    """Flush each stream, ignoring one that cannot be (closed, or the learner's)."""
    for stream in streams:
        try:
            stream.flush()
        except Exception:  # a closed or odd stream: nothing of it to move
            pass

"""How every check talks to the learner: "✓ Right: ..." or "✗ Not yet: ..." and never a traceback."""
from __future__ import annotations

import contextlib
import dis
import io
import math
from typing import Any, Iterator
from urllib.parse import urlsplit

import requests

PRACTICE_URL = "https://api.practice.test"


def right(message: str) -> None:
    print(f"✓ Right: {message}")


def not_yet(message: str) -> None:
    print(f"✗ Not yet: {message}")


def placeholder(value: Any) -> bool:
    """True (after saying so) while the learner has not replaced the `...` in the exercise cell."""
    if value is ... or value is None:
        not_yet("replace the `...` in the cell with your code, then run the cell again.")
        return True
    return False


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


def fake_response(status: int, headers: dict[str, str], url: str = PRACTICE_URL + "/") -> requests.Response:
    """A response built by hand, to feed a learner's function without calling any API."""
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = b""
    response.url = url
    return response


def verify_off(value: Any) -> bool:
    """True when `value`, given as verify= or session.verify, turns requests' certificate check off.

    requests tests it for truth (HTTPAdapter.cert_verify: `if url.lower().startswith("https") and
    verify`), so 0, "" and any other false value turn the check off just as False does. None is
    left out: as a keyword it means "use the session's setting", and a missing value reads as None.
    """
    return value is not None and not value


# -- what a learner's call really did ---------------------------------------------------------

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


def timeout_problem(timeout: Any) -> str:
    """'' for a timeout that bounds every wait; otherwise what is wrong with it, and the fix."""
    if timeout is None:
        return ("the call has no timeout= (or timeout=None), and requests has no default: a server that never "
                "answers would hang your program forever. Add timeout=5.")
    parts = timeout if isinstance(timeout, tuple) else (getattr(timeout, "connect_timeout", timeout),
                                                        getattr(timeout, "read_timeout", timeout))
    if any(part is None for part in parts):
        return ("a timeout of None waits forever for that part: timeout=(connect, read) needs a number for both, "
                "e.g. timeout=(3.05, 27), or one number for both, timeout=5.")
    if any(isinstance(part, bool) or not isinstance(part, (int, float)) or not 0 < part < math.inf for part in parts):
        return "timeout= takes seconds, a finite number above 0, such as timeout=5."
    return ""


def sent_problem(response: Any) -> str:
    """'' when the call behind `response` had a timeout and checked certificates; otherwise the hint."""
    kwargs = sent_with(response) or {}
    if kwargs.get("verify") is False:
        return ("verify=False turns off the certificate check, so anyone on the network path could pose as the "
                "server and read what you send. Leave verify= out (True is the default), or give it the path of "
                "a CA bundle (notebook 06).")
    return timeout_problem(kwargs.get("timeout"))


def credentials_in_url(url: Any) -> bool:
    """True when `url` carries a user:password@ part, which ends up in logs and browser history."""
    try:
        parts = urlsplit(str(url or ""))
        return parts.username is not None or parts.password is not None
    except ValueError:  # a malformed port, say: not ours to judge here
        return False


@contextlib.contextmanager
def output_captured() -> Iterator[io.StringIO]:
    """Collect what a learner's code prints while a check runs it, so the check can look at it first.

    A function that prints a key or a password would put the secret into the notebook's saved
    outputs; the check says so instead of letting it through.
    """
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        yield printed

"""How every check talks to the learner: "✓ Right: ..." or "✗ Not yet: ..." and never a traceback."""
from __future__ import annotations

import dis
from typing import Any

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

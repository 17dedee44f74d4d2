"""How every check talks to the learner: "✓ Right: ..." or "✗ Not yet: ..." and never a traceback."""
from __future__ import annotations

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


def fake_response(status: int, headers: dict[str, str], url: str = PRACTICE_URL + "/") -> requests.Response:
    """A response built by hand, to feed a learner's function without calling any API."""
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = b""
    response.url = url
    return response

"""Notebook 03's copyable code, run outside Jupyter: review 03 items 10, 11 and 13.

The code cells run in one namespace, as Run All would (magics left out); then single cells are
run again, as a learner does. A redirect from the token endpoint must not carry the password, the
refresh token or the token being introspected to another host.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import requests
import responses

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "03-jwt-bearer-tokens.ipynb"
CELLS = {cell.get("id"): cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells}


def source(cell_id: str) -> str:
    return "\n".join(line for line in CELLS[cell_id].source.splitlines() if not line.startswith("%"))


def run(cell_id: str, namespace: dict) -> None:
    exec(compile(source(cell_id), f"<cell {cell_id}>", "exec"), namespace)


@pytest.fixture
def notebook(capsys):
    """A namespace after the Setup cell; the practice API stopped at the end."""
    namespace: dict = {}
    run("c02", namespace)
    yield namespace
    namespace["api"].stop()
    capsys.readouterr()


def run_all(namespace: dict) -> None:
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type != "code" or cell.get("id") == "c02":
            continue
        if "raises-exception" in cell.metadata.get("tags", []):
            with pytest.raises(Exception):
                run(cell.get("id"), namespace)
        else:
            run(cell.get("id"), namespace)


@pytest.mark.parametrize("cell_id", ["c39", "c11", "c43", "c55-introspect"])
def test_a_cell_runs_again_after_run_all(notebook, cell_id):
    run_all(notebook)
    run(cell_id, notebook)  # raised KeyError for c39: the session had become a refreshing one


def test_cells_that_need_a_live_token_work_at_a_slow_pace(notebook):
    """Item 11: section 1's token is more than 5 minutes old when the class gets to sections 2 and 4."""
    run("c05", notebook)
    api = notebook["api"]
    api.clock.offset = -310  # as if section 1 had run 5 min 10 s ago
    notebook["tokens"] = notebook["login"]()
    api.clock.offset = 0
    for cell_id in ("c11", "c19", "c20", "c22"):
        run(cell_id, notebook)


COLLECTOR = "https://evil.test/collect"


def redirected(mock: responses.RequestsMock, method: str, url: str) -> None:
    mock.add(method, url, status=307, headers={"Location": COLLECTOR})


@pytest.mark.parametrize("cell_id, secret", [("c05", "analytical:engine:1843"), ("c43", "refresh_token="),
                                             ("c55-introspect", "token=")])
def test_no_redirect_is_followed_with_a_secret(notebook, cell_id, secret):
    """Item 13: a 307 from /login, /oauth/token or the introspection endpoint is refused, not followed."""
    if cell_id != "c05":
        run("c05", notebook)  # login() as the notebook defines it
        run("c19", notebook)  # key_set, which c20 reads
        run("c20", notebook)  # ISSUER, which the metadata must name
        notebook["revoked_tokens"] = notebook["login"]  # stands in for section 9's revoked login
    base = notebook["api"].base_url
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        collected = mock.add(responses.POST, COLLECTOR, json={"access_token": "x", "refresh_token": "y",
                                                              "active": True})
        if cell_id == "c05":
            redirected(mock, responses.POST, base + "/login")
        else:
            mock.add(responses.POST, base + "/login", json={"access_token": "a.b.c", "refresh_token": "R1",
                                                           "token_type": "Bearer", "expires_in": 300})
            mock.add(responses.GET, base + "/.well-known/oauth-authorization-server",
                     json={"issuer": base, "introspection_endpoint": base + "/oauth/introspect"})
            redirected(mock, responses.POST, base + ("/oauth/token" if cell_id == "c43" else "/oauth/introspect"))
        with pytest.raises(requests.HTTPError):
            run(cell_id, notebook)
        assert collected.call_count == 0, f"{secret!r} was sent to {COLLECTOR}"


@pytest.mark.parametrize("answer, accepted", [
    ({"active": True, "token_type": "Bearer", "aud": "https://api.practice.test/me"}, True),
    ({"active": True, "token_type": "bearer", "aud": ["https://api.practice.test/me", "https://x.test"]}, True),
    # a refresh token, as the practice server answered before it was fixed: no token_type (RFC 6749 §1.5)
    ({"active": True, "scope": "profile", "sub": "ada", "aud": "https://api.practice.test/me"}, False),
    ({"active": True, "token_type": "Bearer", "aud": "https://notes.practice.test"}, False),
    ({"active": True, "token_type": "Bearer"}, False),
    ({"active": "true", "token_type": "Bearer", "aud": "https://api.practice.test/me"}, False),
    ({"active": False}, False),
], ids=["access token", "a list of audiences", "refresh token", "another API", "no aud", "active as a string",
        "inactive"])
def test_the_api_accepts_only_active_bearer_tokens_for_itself(notebook, answer, accepted):
    """Item 2: the API built in section 10 requires active, token_type Bearer and its own aud (RFC 7662 §4)."""
    run("c05", notebook)
    run("c19", notebook)
    run("c20", notebook)  # AUDIENCE
    notebook["revoked_tokens"] = notebook["login"]  # stands in for section 9's revoked login
    run("c55-introspect", notebook)
    notebook["introspect"] = lambda token: answer
    assert notebook["accepted"]("a token") is accepted


def test_verify_refuses_a_jwt_that_is_not_an_access_token(notebook):
    """RFC 9068 §4: cell 21's verify() checks typ, as the practice API does since its tokens are at+jwt."""
    import time

    import jwt

    from helpers.practice_api import signing_key

    run("c05", notebook)
    run("c19", notebook)
    run("c20", notebook)
    now = int(time.time())
    claims = {"iss": "https://api.practice.test", "aud": "https://api.practice.test/me", "sub": "ada", "iat": now,
              "exp": now + 300}
    id_token_like = jwt.encode(claims, signing_key.private_key(), algorithm="RS256",
                               headers={"kid": signing_key.KEY_ID, "typ": "JWT"})
    with pytest.raises(jwt.InvalidTokenError):
        notebook["verify"](id_token_like)
    typed = jwt.encode(claims, signing_key.private_key(), algorithm="RS256",
                       headers={"kid": signing_key.KEY_ID, "typ": "at+jwt"})
    assert notebook["verify"](typed)["sub"] == "ada"

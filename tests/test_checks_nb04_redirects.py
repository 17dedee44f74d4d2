"""Notebook 04's token-endpoint POSTs carry a credential (a client secret, a code and its code_verifier, a device
code): each one follows no redirect, since a 307/308 resends the body (and, to the same host, the Authorization
header) to wherever the Location points (RFC 9110 §15.4.8, §15.4.9). A redirect answer is refused, not parsed."""
from __future__ import annotations

import ast
import hashlib
import base64
import threading
from urllib.parse import quote_plus

import pytest
import requests
from requests.auth import AuthBase

from helpers import InsecureTransportError
from test_checks_oauth_notebook import DEVICE, TOKENS, ScriptedSession, definitions
from test_checks_oauth_notebook import poll  # noqa: F401  (a fixture)


def answer(status: int, body: bytes = b"", location: str = "") -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    if location:
        response.headers["Location"] = location
    return response


class Recorder:
    """Stands in for requests.post: records each call's keywords, answers with `response`."""

    def __init__(self, response: requests.Response) -> None:
        self.response, self.calls = response, []

    def __call__(self, url, **kwargs):
        self.calls.append(kwargs)
        return self.response


REDIRECT = answer(307, b"", "https://elsewhere.example.test/token")
OK = answer(200, b'{"access_token": "AT", "token_type": "Bearer", "expires_in": 300}')


def client_credentials_auth():
    import time
    return definitions("c16", AuthBase=AuthBase, quote_plus=quote_plus, threading=threading, time=time,
                       InsecureTransportError=InsecureTransportError)["ClientCredentialsAuth"]


def test_client_credentials_token_request_follows_no_redirect(monkeypatch):
    recorder = Recorder(OK)
    monkeypatch.setattr(requests, "post", recorder)
    auth = client_credentials_auth()("https://login.example.test/token", "id", "secret", "s")
    assert auth.token() == "AT"
    assert recorder.calls[0].get("allow_redirects") is False and recorder.calls[0].get("timeout")


def test_client_credentials_refuses_a_redirect_answer(monkeypatch):
    monkeypatch.setattr(requests, "post", Recorder(REDIRECT))
    auth = client_credentials_auth()("https://login.example.test/token", "id", "secret", "s")
    with pytest.raises(requests.HTTPError):
        auth.token()
    assert auth.fetches == 0


METADATA = {"authorization_endpoint": "https://login.example.test/authorize",
            "token_endpoint": "https://login.example.test/token"}


def sign_in(recorder):
    namespace = definitions("c34", hashlib=hashlib, base64=base64, NOTES_CLI="notes-cli", metadata=METADATA,
                            REDIRECT_URI="http://127.0.0.1:8765/callback")
    namespace["code_from_callback"] = lambda url, state, metadata: "the-code"
    return namespace["sign_in"](lambda url: "ignored")


def test_sign_in_code_exchange_follows_no_redirect(monkeypatch):
    recorder = Recorder(OK)
    monkeypatch.setattr(requests, "post", recorder)
    assert sign_in(recorder)["access_token"] == "AT"
    assert recorder.calls[0].get("allow_redirects") is False and recorder.calls[0].get("timeout")


def test_sign_in_refuses_a_redirect_answer(monkeypatch):
    monkeypatch.setattr(requests, "post", Recorder(REDIRECT))
    with pytest.raises(requests.HTTPError):
        sign_in(None)


class KeywordSession(ScriptedSession):
    """A ScriptedSession that also keeps each post's keywords."""

    def __init__(self, *script) -> None:
        super().__init__(*script)
        self.keywords: list[dict] = []

    def post(self, url, data=None, **kwargs):
        self.keywords.append(kwargs)
        return super().post(url, data=data, **kwargs)


def test_poll_for_token_follows_no_redirect(poll):  # noqa: F811
    session = KeywordSession((200, TOKENS))
    assert poll(session) == TOKENS
    assert all(keywords.get("allow_redirects") is False for keywords in session.keywords)


def test_poll_for_token_stops_on_a_redirect(poll):  # noqa: F811
    session = KeywordSession((307, ""))
    with pytest.raises(poll.error):
        poll(session, DEVICE)
    assert len(session.posts) == 1


CREDENTIAL_FIELDS = {"code", "code_verifier", "device_code", "refresh_token", "token", "client_secret", "password"}


def credential_posts(source: str):
    """Each .post(...) call in `source` that sends a credential: auth=, or a form with a credential field (a
    browser's sign-in form, with a `decision`, follows its 303 as a browser does, and is left out)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]  # magics
    tree = ast.parse("\n".join(lines))
    # A form built before the call (`form = {...}` then `data=form`) counts as the dict itself.
    named = {target.id: node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
             and isinstance(node.value, ast.Dict) for target in node.targets if isinstance(target, ast.Name)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "post"):
            continue
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        fields = set()
        for body in ("data", "json"):
            value = keywords.get(body)
            value = named.get(value.id, value) if isinstance(value, ast.Name) else value
            if isinstance(value, ast.Dict):
                fields |= {key.value for key in value.keys if isinstance(key, ast.Constant)}
        if "decision" in fields:
            continue
        if "auth" in keywords or fields & CREDENTIAL_FIELDS:
            yield node, keywords


@pytest.mark.parametrize("name, least", [("03-jwt-bearer-tokens.ipynb", 4), ("04-oauth2.ipynb", 8)])
def test_every_credential_bearing_post_follows_no_redirect(name, least):
    """A learner copies these calls; only the cells tagged `mistake` may show the wrong way."""
    import nbformat
    from test_checks_oauth_notebook import NOTEBOOK
    found, following = 0, []
    for cell in nbformat.read(NOTEBOOK.parent / name, as_version=4).cells:
        if cell.cell_type != "code" or "mistake" in cell.metadata.get("tags", []):
            continue
        for node, keywords in credential_posts(cell.source):
            found += 1
            value = keywords.get("allow_redirects")
            if not (isinstance(value, ast.Constant) and value.value is False):
                following.append(f"cell {cell.id}, line {node.lineno}")
    assert found >= least, "the search for the notebook's credential-bearing requests found too few"
    assert following == []

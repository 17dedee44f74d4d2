"""Review 04 of the code notebook 04 teaches: ClientCredentialsAuth refuses plain http and a token that is not
Bearer, code_from_callback sees a blank duplicate, poll_for_token backs off on 429/502/503 with a cap and says
why it stops, metadata_url strips one terminating "/", and the Authlib client authentication form-urlencodes."""
from __future__ import annotations

import base64
import threading
from urllib.parse import quote_plus

import pytest
import requests
from requests.auth import AuthBase

from helpers import InsecureTransportError
from test_checks_oauth_notebook import (DEVICE, PENDING, TOKENS, FakeClock, ScriptedSession, cell_source,
                                        definitions, run_cell)
from test_checks_oauth_notebook import poll  # noqa: F401  (a fixture)


def client_credentials_auth():
    import time
    return definitions("c16", AuthBase=AuthBase, quote_plus=quote_plus, threading=threading, time=time,
                       InsecureTransportError=InsecureTransportError)["ClientCredentialsAuth"]


class Answer:
    def __init__(self, body):
        self.body, self.sent = body, []

    def __call__(self, method, url, **kwargs):
        self.sent.append((method, url))
        response = requests.Response()
        response.status_code, response._content = 200, __import__("json").dumps(self.body).encode()
        return response


@pytest.mark.parametrize("token_url", ["http://login.example.test/token", "http://localhost/token",
                                       "ftp://login.example.test/token"])
def test_client_credentials_auth_refuses_a_token_url_without_tls(token_url):
    with pytest.raises(InsecureTransportError):
        client_credentials_auth()(token_url, "id", "secret", "s")


@pytest.mark.parametrize("token_url", ["https://login.example.test/token", "http://127.0.0.1:8080/token",
                                       "http://[::1]:8080/token"])
def test_client_credentials_auth_takes_https_and_loopback_literals(token_url):
    client_credentials_auth()(token_url, "id", "secret", "s")


def test_client_credentials_auth_refuses_to_send_the_token_over_plain_http(monkeypatch):
    answer = Answer({"access_token": "AT", "token_type": "Bearer", "expires_in": 300})
    monkeypatch.setattr(requests, "post", lambda url, **kw: answer("POST", url, **kw))
    auth = client_credentials_auth()("https://login.example.test/token", "id", "secret", "s")
    request = requests.Request("GET", "http://api.example.test/data").prepare()
    with pytest.raises(InsecureTransportError):
        auth(request)
    assert "Authorization" not in request.headers and answer.sent == []


@pytest.mark.parametrize("token_type", ["DPoP", "mac", "", None])
def test_client_credentials_auth_refuses_a_token_that_is_not_bearer(monkeypatch, token_type):
    body = {"access_token": "AT", "expires_in": 300, **({} if token_type is None else {"token_type": token_type})}
    monkeypatch.setattr(requests, "post", lambda url, **kw: Answer(body)("POST", url, **kw))
    auth = client_credentials_auth()("https://login.example.test/token", "id", "secret", "s")
    request = requests.Request("GET", "https://api.example.test/data").prepare()
    with pytest.raises(ValueError, match="Bearer"):
        auth(request)
    assert "Authorization" not in request.headers


@pytest.mark.parametrize("token_type", ["Bearer", "bearer", "BEARER"])
def test_client_credentials_auth_takes_bearer_in_any_case(monkeypatch, token_type):
    body = {"access_token": "AT", "token_type": token_type, "expires_in": 300}
    monkeypatch.setattr(requests, "post", lambda url, **kw: Answer(body)("POST", url, **kw))
    auth = client_credentials_auth()("https://login.example.test/token", "id", "secret", "s")
    request = auth(requests.Request("GET", "https://api.example.test/data").prepare())
    assert request.headers["Authorization"] == "Bearer AT"


def test_code_from_callback_refuses_a_blank_duplicate():
    namespace = definitions("c29")
    metadata = {"issuer": "https://api.practice.test", "authorization_response_iss_parameter_supported": True}
    url = "http://127.0.0.1:8765/callback?code=&code=C&state=S&iss=https%3A%2F%2Fapi.practice.test"
    with pytest.raises(namespace["CallbackError"], match="twice"):
        namespace["code_from_callback"](url, "S", metadata)


@pytest.mark.parametrize("status", [429, 502, 503])
def test_poll_backs_off_on_a_busy_or_broken_gateway_and_retries(poll, status):  # noqa: F811
    assert poll(ScriptedSession((status, "<html>busy</html>"), PENDING, (200, TOKENS))) == TOKENS
    first, second, third = poll.clock.slept
    assert first < second == third


def test_poll_back_off_is_capped_at_60_seconds(poll):  # noqa: F811
    session = ScriptedSession(*[requests.ReadTimeout("no answer")] * 6, (200, TOKENS))
    poll(session, {**DEVICE, "expires_in": 3600})
    assert max(poll.clock.slept) == 60, poll.clock.slept


def test_poll_back_off_never_undoes_a_slow_down(poll):  # noqa: F811
    poll(ScriptedSession(requests.ReadTimeout("no answer"), (200, TOKENS)), {**DEVICE, "expires_in": 3600},
         interval=70)
    assert poll.clock.slept == [70, 70]


def test_poll_says_the_code_would_expire_before_the_next_poll(poll):  # noqa: F811
    with pytest.raises(poll.error, match="would expire before the next poll") as raised:
        poll(ScriptedSession(), lifetime=4)
    assert "expired_token" not in str(raised.value)  # a server's error code, which the server never sent


def test_metadata_url_strips_one_terminating_slash():
    metadata_url = definitions("c05-url")["metadata_url"]
    assert metadata_url is not None
    assert metadata_url("https://as.test/") == "https://as.test/.well-known/oauth-authorization-server"
    assert metadata_url("https://as.test/t/") == "https://as.test/.well-known/oauth-authorization-server/t"
    assert metadata_url("https://as.test/t//") == "https://as.test/.well-known/oauth-authorization-server/t/"


def test_authlib_client_authentication_is_form_urlencoded(api):
    from authlib.integrations.requests_client import OAuth2Session
    source = cell_source("c75")
    namespace = {"OAuth2Session": OAuth2Session, "base64": base64, "quote_plus": quote_plus, "api": api,
                 "REPORTS_ID": "my:client", "REPORTS_SECRET": "s3cret+with/plus=",
                 "TOKEN_URL": api.url("/oauth/token")}
    seen = []
    original = OAuth2Session.request

    def recording(self, method, url, *args, **kwargs):
        response = original(self, method, url, *args, **kwargs)
        seen.append(response.request.headers.get("Authorization", ""))
        return response

    OAuth2Session.request = recording
    try:
        with pytest.raises(Exception):  # the practice API knows no such client
            run_cell("c75", namespace)
    finally:
        OAuth2Session.request = original
    assert base64.b64decode(seen[0].split()[1]) == b"my%3Aclient:s3cret%2Bwith%2Fplus%3D"
    assert "register_client_auth_method" in source

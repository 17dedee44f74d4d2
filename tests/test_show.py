"""`helpers.viewers.show` / `Exchange`: the exchange as it went over the wire, secrets masked."""
from __future__ import annotations

import base64
import json
import re

import pytest
import requests

from helpers import show
from helpers.practice_api import demo
from helpers.viewers import MASK, Exchange, a_kind

TIMEOUT = 5
ADA = ("ada", demo.password_of("ada"))
ADA_TOKEN = base64.b64encode(f"{ADA[0]}:{ADA[1]}".encode("utf-8")).decode("ascii")


def hand_response(method: str, url: str, status: int, reason: str, *, headers=None, body: bytes = b"",
                  history=(), request_headers=None, **request_kwargs) -> requests.Response:
    """A requests.Response built without any transport, for cases the practice API cannot produce."""
    response = requests.Response()
    response.request = requests.Request(method, url, headers=request_headers, **request_kwargs).prepare()
    response.url = response.request.url
    response.status_code = status
    response.reason = reason
    response.headers.update(headers or {})
    response._content = body
    response.history = list(history)
    return response


def both(exchange: Exchange) -> tuple[str, str]:
    return str(exchange), exchange._repr_html_()


# -- the plain text ------------------------------------------------------------------------

def test_text_shows_request_and_response(http, api):
    response = http.get(api.url("/basic/whoami"), auth=ADA, timeout=TIMEOUT)
    text = str(Exchange(response))
    lines = text.splitlines()
    assert lines[0] == "→ Request"
    assert lines[1] == "GET /basic/whoami HTTP/1.1"
    assert lines[2] == "Host: api.practice.test"
    assert "User-Agent: python-requests/" in text
    assert "← Response" in lines
    status_line = lines[lines.index("← Response") + 1]
    assert status_line == "HTTP/1.1 200 OK"
    assert "Content-Type: application/json" in lines
    assert '{\n  "username": "ada",\n  "scheme": "Basic"\n}' in text  # pretty-printed JSON
    assert text.index("GET /basic/whoami") < text.index("HTTP/1.1 200 OK")


def test_error_response_shows_challenge(http, api):
    response = http.get(api.url("/basic/whoami"), timeout=TIMEOUT)
    text = str(Exchange(response))
    assert "HTTP/1.1 401 Unauthorized" in text
    assert 'WWW-Authenticate: Basic realm="practice", charset="UTF-8"' in text
    assert '"error": "missing_credentials"' in text
    assert "Authorization" not in text.split("← Response")[0]  # nothing was sent, nothing shown
    assert "reveal=True" not in text  # nothing was masked, so no footer


def test_query_string_without_secrets_is_shown_as_sent(http, api):
    response = http.get(api.url("/basic/whoami?page=2&sort=name"), timeout=TIMEOUT)
    assert "GET /basic/whoami?page=2&sort=name HTTP/1.1" in str(Exchange(response))


# -- masking -------------------------------------------------------------------------------

def test_authorization_masked_by_default(http, api):
    response = http.get(api.url("/basic/whoami"), auth=ADA, timeout=TIMEOUT)
    assert response.request.headers["Authorization"] == f"Basic {ADA_TOKEN}"
    exchange = Exchange(response)
    text, page = both(exchange)
    for output in (text, page):
        assert ADA_TOKEN not in output
        assert ADA[1] not in output
        assert MASK in output
        assert "reveal=True" in output
    assert f"Authorization: Basic {MASK}" in text
    assert f"<b>Authorization</b>: Basic {MASK}" in page
    assert text.rstrip().endswith("(credentials masked: show(response, reveal=True) shows them)")


def test_reveal_shows_authorization(http, api):
    response = http.get(api.url("/basic/whoami"), auth=ADA, timeout=TIMEOUT)
    text, page = both(Exchange(response, reveal=True))
    assert f"Authorization: Basic {ADA_TOKEN}" in text
    assert ADA_TOKEN in page
    assert MASK not in text and "reveal=True" not in text


def test_authorization_without_scheme_is_masked_whole():
    # Built by hand: the practice API echoes a schemeless value in its 401 body (see
    # test_basic_auth.py::test_invalid_scheme_does_not_echo_a_schemeless_credential).
    response = hand_response("GET", "https://api.practice.test/basic/whoami", 401, "Unauthorized",
                             request_headers={"Authorization": "opaque-secret-value"})
    text, page = both(Exchange(response))
    assert "opaque-secret-value" not in text and "opaque-secret-value" not in page
    assert f"Authorization: {MASK}" in text.splitlines()


def test_x_api_key_header_masked(http, api):
    response = http.get(api.url("/basic/whoami"), headers={"X-API-Key": "demo-key-0123456789"}, timeout=TIMEOUT)
    exchange = Exchange(response)
    text, page = both(exchange)
    assert "demo-key-0123456789" not in text and "demo-key-0123456789" not in page
    assert f"X-API-Key: {MASK}" in text
    assert "demo-key-0123456789" in str(Exchange(response, reveal=True))


def test_proxy_authorization_and_cookies_masked():
    response = hand_response("GET", "https://api.practice.test/", 200, "OK",
                             headers={"Set-Cookie": "session=srv-cookie-secret; HttpOnly"},
                             cookies={"session": "client-cookie-secret"},
                             request_headers={"Proxy-Authorization": "Basic cHJveHk6c2VjcmV0"})
    text = str(Exchange(response))
    for secret in ("srv-cookie-secret", "client-cookie-secret", "cHJveHk6c2VjcmV0"):
        assert secret not in text
    assert f"Proxy-Authorization: Basic {MASK}" in text
    assert f"Set-Cookie: {MASK}" in text and f"Cookie: {MASK}" in text


@pytest.mark.parametrize("name", ["X-Amz-Security-Token", "X-Amz-Signature", "Ocp-Apim-Subscription-Key",
                                  "PRIVATE-TOKEN", "X-Goog-Api-Key", "Api-Key", "X-Auth-Token", "x-api-key"])
def test_providers_secret_headers_masked_as_the_log_filter_masks_them(name):
    """show() and RedactSecrets share one list of secret headers (helpers/client/redaction.py)."""
    response = hand_response("GET", "https://api.practice.test/", 200, "OK",
                             request_headers={name: "provider-secret-0123456789"})
    text = str(Exchange(response))
    assert "provider-secret-0123456789" not in text and f"{name}: {MASK}" in text


@pytest.mark.parametrize("field", ["X-Amz-Signature", "X-Amz-Security-Token", "sig", "private_token",
                                   "subscription-key", "X-Goog-Signature", "access_key"])
def test_presigned_url_signatures_masked(field):
    response = hand_response("GET", f"https://api.practice.test/file?X-Amz-Date=20261201T000000Z&{field}=sig-0123456789",
                             200, "OK")
    text = str(Exchange(response))
    assert "sig-0123456789" not in text and "X-Amz-Date=20261201T000000Z" in text


def test_sensitive_query_param_masked(http, api):
    response = http.get(api.url("/basic/whoami"), params={"page": "2", "api_key": "k-secret-42"}, timeout=TIMEOUT)
    assert "api_key=k-secret-42" in response.request.url
    exchange = Exchange(response)
    text, page = both(exchange)
    assert "k-secret-42" not in text and "k-secret-42" not in page
    assert "page=2" in text
    assert "reveal=True" in text
    assert "api_key=k-secret-42" in str(Exchange(response, reveal=True))


@pytest.mark.parametrize("kind", ["query", "form"])
def test_masked_query_and_form_values_read_as_the_mask(kind):
    """Masked query and form values read as the mask, not as its percent-encoding."""
    if kind == "query":
        response = hand_response("GET", "https://api.practice.test/keys/whoami", 200, "OK",
                                 params={"api_key": "k-secret-42"})
        expected = f"GET /keys/whoami?api_key={MASK} HTTP/1.1"
    else:
        response = hand_response("POST", "https://api.practice.test/oauth/token", 200, "OK",
                                 data={"grant_type": "client_credentials", "client_secret": "s3cr3t-value"})
        expected = f"grant_type=client_credentials&client_secret={MASK}"
    text = str(Exchange(response))
    assert "k-secret-42" not in text and "s3cr3t-value" not in text  # the secret itself is hidden
    assert "%E2%80%A2" not in text, f"mask shown percent-encoded:\n{text}"
    assert expected in text.splitlines()


def test_form_body_secret_masked():
    response = hand_response("POST", "https://api.practice.test/oauth/token", 200, "OK",
                             data={"grant_type": "client_credentials", "client_secret": "s3cr3t-value"})
    assert response.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    exchange = Exchange(response)
    text, page = both(exchange)
    assert "s3cr3t-value" not in text and "s3cr3t-value" not in page
    assert "grant_type=client_credentials" in text
    assert "reveal=True" in text
    assert "client_secret=s3cr3t-value" in str(Exchange(response, reveal=True))


def test_json_request_body_password_masked(http, api):
    response = http.post(api.url("/show-test/login"), json={"username": "ada", "password": "pw-in-json-42"},
                         timeout=TIMEOUT)
    assert response.status_code == 404  # any response will do: the request body is what matters
    text, page = both(Exchange(response))
    assert "pw-in-json-42" not in text and "pw-in-json-42" not in page
    assert f'"password": "{MASK}"' in text
    assert '"username": "ada"' in text
    assert '"password": "pw-in-json-42"' in str(Exchange(response, reveal=True))


def test_json_response_tokens_masked_even_when_nested():
    payload = {"access_token": "eyJ.access.token", "token_type": "Bearer", "expires_in": 300,
               "refresh_token": "rt-secret", "nested": [{"id_token": "idt-secret", "scope": "read"}]}
    response = hand_response("POST", "https://api.practice.test/login", 200, "OK",
                             headers={"Content-Type": "application/json"}, body=json.dumps(payload).encode())
    text, page = both(Exchange(response))
    for secret in ("eyJ.access.token", "rt-secret", "idt-secret"):
        assert secret not in text and secret not in page
    assert f'"access_token": "{MASK}"' in text
    assert '"token_type": "Bearer"' in text and '"expires_in": 300' in text and '"scope": "read"' in text
    assert "eyJ.access.token" in str(Exchange(response, reveal=True))


def test_password_in_url_userinfo_is_not_shown():
    """requests keeps user:password@ in PreparedRequest.url; a real Host header never carries
    it, and neither does show()'s Host line."""
    url = f"http://ada:{ADA[1]}@127.0.0.1:8000/basic/whoami"
    response = hand_response("GET", url, 200, "OK")
    assert response.request.headers["Authorization"] == f"Basic {ADA_TOKEN}"
    text, page = both(Exchange(response))
    assert "Host: 127.0.0.1:8000" in text.splitlines(), text
    assert ADA[1] not in text, text
    assert ADA[1] not in page


# -- HTML ------------------------------------------------------------------------------

def test_html_escapes_markup():
    body = b'<script>alert("x")</script>'
    response = hand_response("GET", "https://api.practice.test/page?q=<b>", 200, "OK",
                             headers={"Content-Type": "text/html", "X-Note": "a<b>&c"}, body=body)
    page = Exchange(response)._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "a&lt;b&gt;&amp;c" in page
    assert "<b>X-Note</b>: " in page  # the markup the viewer adds itself is still there
    assert page.startswith('<div class="helpers-show">') and page.endswith("</div>")
    assert '<script>alert("x")</script>' in str(Exchange(response))  # plain text is not escaped


def test_html_has_a_block_per_request_and_response(http, api):
    response = http.get(api.url("/basic/whoami"), auth=ADA, timeout=TIMEOUT)
    page = Exchange(response)._repr_html_()
    assert page.count("<pre") == 2
    assert ">Request</div>" in page and ">Response</div>" in page
    assert "--jp-success-color1" in page  # 2xx shown green
    assert "reveal=True" in page


# Outside a var() fallback, a colour written as hex ignores the theme: #2b6cb0 on the dark theme's
# background is 3.5:1 (tests/test_browser.py measures the contrast in both themes).
BARE_HEX = re.compile(r"(?<!, )#[0-9a-fA-F]{3,8}\b")
THEME_COLOUR = re.compile(r"color-mix\(in srgb, var\(--jp-(brand|success|warn|error)-color1, #[0-9a-f]{6}\) 60%, currentColor\)")


@pytest.mark.parametrize("status, kind", [(101, None), (200, "success"), (204, "success"), (302, "warn"),
                                          (401, "error"), (404, "error"), (503, "error")])
def test_html_colours_come_from_the_theme(status, kind):
    page = Exchange(hand_response("GET", "https://api.practice.test/me", status, "Reason"))._repr_html_()
    assert not BARE_HEX.search(page), page
    request, response = [block.split(";padding")[0] for block in page.split("border-left:4px solid;border-left-color:")[1:]]
    assert THEME_COLOUR.fullmatch(request)[1] == "brand"
    if kind is None:  # 1xx: the text's own colour
        assert response == "currentColor"
    else:
        assert THEME_COLOUR.fullmatch(response)[1] == kind
    titles = re.findall(r'<div style="color:([^;]*);font-weight:bold">(Request|Response)</div>', page)
    assert [(colour, title) for colour, title in titles] == [(request, "Request"), (response, "Response")]


# -- redirects --------------------------------------------------------------------------

def test_redirect_history_shown_in_order():
    first = hand_response("GET", "https://api.practice.test/old", 302, "Found",
                          headers={"Location": "https://api.practice.test/new"}, auth=ADA)
    final = hand_response("GET", "https://api.practice.test/new", 200, "OK",
                          headers={"Content-Type": "application/json"}, body=b'{"moved": true}',
                          history=[first], auth=ADA)
    exchange = Exchange(final)
    text = str(exchange)
    assert [title for title, _ in exchange.sections()] == ["Request", "Response", "Request", "Response"]
    order = ["GET /old HTTP/1.1", "HTTP/1.1 302 Found", "Location: https://api.practice.test/new",
             "GET /new HTTP/1.1", "HTTP/1.1 200 OK", '"moved": true']
    positions = [text.index(piece) for piece in order]
    assert positions == sorted(positions)
    assert text.count(f"Authorization: Basic {MASK}") == 2
    assert ADA_TOKEN not in text and ADA_TOKEN not in exchange._repr_html_()
    assert exchange._repr_html_().count("<pre") == 4


def test_redirect_to_other_host_shows_dropped_authorization():
    first = hand_response("GET", "https://api.practice.test/go", 301, "Moved Permanently",
                          headers={"Location": "https://elsewhere.test/"}, auth=ADA)
    final = hand_response("GET", "https://elsewhere.test/", 200, "OK", history=[first])
    text = str(Exchange(final))
    second_request = text.split("→ Request")[2]
    assert "Host: elsewhere.test" in second_request
    assert "Authorization" not in second_request


# -- other bodies ------------------------------------------------------------------------

def test_binary_and_long_bodies():
    binary = hand_response("GET", "https://api.practice.test/img", 200, "OK",
                           headers={"Content-Type": "image/png"}, body=b"\x89PNG\xff\xfe")
    assert "[6 bytes of binary data]" in str(Exchange(binary))
    long = hand_response("GET", "https://api.practice.test/long", 200, "OK",
                         headers={"Content-Type": "text/plain"}, body=b"x" * 2500)
    text = str(Exchange(long))
    assert "x" * 2000 in text and "x" * 2001 not in text
    assert "[... 500 more characters]" in text


@pytest.mark.parametrize("secret, value", [("Bearer abcdefghijklmnopqrstuvwxyz0123", "abcdefghijklmnopqrstuvwxyz0123"),
                                           ("api_key=abcdefghijklmnop", "abcdefghijklmnop"),
                                           ("https://user:p4ssw0rd-long@host.test/", "p4ssw0rd-long"),
                                           ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==")])
@pytest.mark.parametrize("cut", [2, 8, 12, 20])
def test_a_long_text_body_is_redacted_before_it_is_cut(secret, value, cut):
    # the cut at MAX_BODY_CHARS used to come first: what was left of a credential was too short for its pattern
    body = ("x" * (2000 - cut) + " " + secret + " and more text").encode()
    long = hand_response("GET", "https://api.practice.test/long", 200, "OK",
                         headers={"Content-Type": "text/plain"}, body=body)
    text = str(Exchange(long))
    assert value[:6] not in text and "[... " in text
    assert "credentials masked" in text


# -- show() -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, "text", 401, {"status": 200}])
def test_show_refuses_non_responses(value):
    with pytest.raises(TypeError, match=r"requests\.Response") as raised:
        show(value)
    assert (a_kind(value) if value is not None else "not None") in str(raised.value)
    assert ("Did the call raise" in str(raised.value)) == (value is None)


def test_show_prints_outside_ipython(http, api, capsys):
    response = http.get(api.url("/basic/whoami"), auth=ADA, timeout=TIMEOUT)
    assert show(response) is None
    out, err = capsys.readouterr()
    assert err == ""
    assert out == str(Exchange(response)) + "\n"
    assert "GET /basic/whoami HTTP/1.1" in out and "HTTP/1.1 200 OK" in out
    assert ADA_TOKEN not in out and "reveal=True" in out


def test_show_reveal_prints_credentials(http, api, capsys):
    response = http.get(api.url("/basic/whoami"), auth=ADA, timeout=TIMEOUT)
    show(response, reveal=True)
    out = capsys.readouterr().out
    assert f"Authorization: Basic {ADA_TOKEN}" in out


# -- review 3, finding 9: what RedactSecrets hides, show() hides too, whatever the Content-Type ----------

def masked_text(response: requests.Response) -> str:
    text, page = both(Exchange(response))
    assert "reveal=True" in text, "the footer says something was masked"
    return text + "\n" + page


def test_a_json_body_sent_without_a_json_content_type_is_masked():
    response = hand_response("POST", "https://api.practice.test/login", 200, "OK",
                             data=json.dumps({"username": "ada", "password": "pw-plain-42"}))
    assert "json" not in response.request.headers.get("Content-Type", "")
    text = masked_text(response)
    assert "pw-plain-42" not in text and '"username": "ada"' in text


def test_a_multipart_field_named_as_a_secret_is_masked():
    response = hand_response("POST", "https://api.practice.test/login", 200, "OK",
                             data={"username": "ada"}, files={"password": (None, "pw-multi-42"),
                                                              "note": ("a.txt", b"plain words")})
    text = masked_text(response)
    assert "pw-multi-42" not in text
    assert 'name="username"' in text and "ada" in text and "plain words" in text


@pytest.mark.parametrize("name", ["Location", "Content-Location"])
@pytest.mark.parametrize("url, secret, kept", [
    ("https://client.test/cb?code=SECRETCODE123&state=xyz", "SECRETCODE123", "state=xyz"),
    ("https://client.test/cb#access_token=SECRET.TOKEN.X&token_type=bearer", "SECRET.TOKEN.X", "token_type=bearer"),
    ("https://client.test/cb?state=s1#id_token=SECRETID&expires_in=300", "SECRETID", "expires_in=300"),
])
def test_secret_fields_in_a_location_are_masked(name, url, secret, kept):
    response = hand_response("GET", "https://as.practice.test/authorize", 302, "Found", headers={name: url})
    text = masked_text(response)
    assert secret not in text and kept in text and f"{name}: https://client.test/cb" in text


def test_secret_fields_in_a_link_header_are_masked():
    link = '<https://api.test/x?page=2&access_token=SECRETLINK>; rel="next", <https://api.test/x?page=1>; rel="prev"'
    response = hand_response("GET", "https://api.test/x", 200, "OK", headers={"Link": link})
    text = masked_text(response)
    assert "SECRETLINK" not in text and f'<https://api.test/x?page=2&access_token={MASK}>; rel="next", <' in text


@pytest.mark.parametrize("field", ["accessToken", "refreshToken", "apiToken", "api-token", "Access-Token",
                                   "clientSecret", "IdToken", "API_KEY"])
def test_json_secret_fields_are_masked_whatever_their_case_and_separators(field):
    body = json.dumps({field: "SECRET-VALUE-42", "tokenType": "Bearer"}).encode()
    response = hand_response("POST", "https://api.test/j", 200, "OK", headers={"Content-Type": "application/json"},
                             body=body)
    text = masked_text(response)
    assert "SECRET-VALUE-42" not in text and '"tokenType": "Bearer"' in text


@pytest.mark.parametrize("body, secret", [
    ("your token is eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl, keep it", "eyJzdWIiOiIxIn0"),
    ("send Bearer abcdefghijklmnop next time", "abcdefghijklmnop"),
    ("retry with password=hunter2-secret", "hunter2-secret"),
])
def test_secrets_in_a_text_body_are_masked(body, secret):
    response = hand_response("GET", "https://api.test/text", 200, "OK", headers={"Content-Type": "text/plain"},
                             body=body.encode())
    text = masked_text(response)
    assert secret not in text
    assert secret in str(Exchange(response, reveal=True))


@pytest.mark.parametrize("name", ["X-Refresh-Token", "Token", "X-Access-Token"])
def test_a_header_named_as_a_secret_field_is_masked(name):
    response = hand_response("GET", "https://api.test/x", 200, "OK", headers={name: "SECRETHDR-42"},
                             request_headers={name: "SECRETREQ-42"})
    text = masked_text(response)
    assert "SECRETHDR-42" not in text and "SECRETREQ-42" not in text and f"{name}: {MASK}" in text


def test_a_jwt_in_a_json_string_is_masked_and_the_servers_hints_are_kept():
    body = {"note": "your token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln is here",
            "error_description": "send 'Authorization: Basic base64(user-id:password)'.", "authorization": None}
    response = hand_response("POST", "https://api.test/j", 400, "Bad Request",
                             headers={"Content-Type": "application/json"}, body=json.dumps(body).encode())
    text = masked_text(response)
    assert "eyJzdWIiOiIxIn0" not in text
    assert """send 'Authorization: Basic base64(user-id:password)'.""" in text and '"authorization": null' in text


def test_an_exchange_without_secrets_is_shown_exactly_as_before():
    body = b'{"error": "invalid_token", "error_description": "The token expired"}'
    response = hand_response("GET", "https://api.test/me?page=2", 401, "Unauthorized",
                             headers={"Content-Type": "application/json",
                                      "WWW-Authenticate": 'Bearer realm="practice", error="invalid_token"',
                                      "Location": "https://api.test/next?page=3#top"})
    response._content = body
    text = str(Exchange(response))
    assert "reveal=True" not in text and MASK not in text
    assert 'WWW-Authenticate: Bearer realm="practice", error="invalid_token"' in text
    assert "Location: https://api.test/next?page=3#top" in text and "GET /me?page=2 HTTP/1.1" in text
    assert '  "error_description": "The token expired"' in text
    plain = hand_response("GET", "https://api.test/t", 200, "OK", headers={"Content-Type": "text/plain"},
                          body=b"a=1&b=2\nno secrets here")
    assert str(Exchange(plain)).endswith("\n\na=1&b=2\nno secrets here")


def test_everything_inside_a_secret_json_field_is_masked():
    body = {"token": {"value": "SECRETINNER", "expires": None}, "tokens": [{"refresh": "r"}], "password": ["pw1", "pw2"]}
    response = hand_response("POST", "https://api.test/j", 200, "OK", headers={"Content-Type": "application/json"},
                             body=json.dumps(body).encode())
    text = masked_text(response)
    assert "SECRETINNER" not in text and '"pw1"' not in text and '"pw2"' not in text
    assert '"expires": null' in text and '"refresh": "r"' in text  # null is no secret; "tokens" is no secret name


@pytest.mark.parametrize("value, kind", [(1, "an int"), ("x", "a str"), (..., "an ellipsis"), (None, "None"),
                                          ({}, "a dict"), (b"", "a bytes")])
def test_messages_name_a_type_with_its_article(value, kind):
    from helpers.viewers import a_kind
    assert a_kind(value) == kind


def test_show_says_an_ellipsis_not_a_ellipsis():
    # What a learner sees after Run All, when an exercise stub left `response = ...`.
    with pytest.raises(TypeError, match="not an ellipsis"):
        show(...)

"""helpers/client/challenges.py: every challenge of a WWW-Authenticate field (RFC 9110 §11.6.1, §11.2),
read from real servers' headers, and the scheme a response asks for, with or without a challenge.

Each header in the tables comes from where it is cited (an RFC's example, or a real server's response
quoted in a public issue, gist or docs page); the provider research behind them was read 2026-12-01
from stored copies of those pages."""
from __future__ import annotations

import json

import pytest
import requests
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.client.challenges import (TCHAR, Challenge, Challenges, parse_challenges, recognise_scheme,
                                       response_challenges)


def response(status: int, fields: list[tuple[str, str]] = (), body: object = None) -> requests.Response:
    """A response as requests builds it: repeated fields joined with ", " in .headers, the separate
    field lines kept in .raw.headers (urllib3's HTTPHeaderDict), as on the wire."""
    raw_headers = urllib3.HTTPHeaderDict()
    for name, value in fields:
        raw_headers.add(name, value)
    built = requests.Response()
    built.status_code = status
    built.raw = urllib3.HTTPResponse(body=b"", headers=raw_headers, status=status, preload_content=False)
    built.headers = requests.structures.CaseInsensitiveDict(raw_headers.itermerged())
    if body is not None and not isinstance(body, str):
        built._content = json.dumps(body).encode()
        built.headers["Content-Type"] = "application/json"
    else:
        built._content = (body or "").encode()
    return built


def shapes(challenges: Challenges) -> list[tuple]:
    return [(c.name, dict(c.params)) if c.token68 is None else (c.name, c.token68) for c in challenges]


APIM_TROUBLESHOOTING = ("https://github.com/MicrosoftDocs/SupportArticles-docs/blob/main/support/azure/"
                        "api-mgmt/availability/unauthorized-errors-invoke-apis.md")
ENTRA_AUTHORIZE = "https://login.microsoftonline.com/common/oauth2/authorize"
ENTRA_CLAIMS = "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ=="
# (field lines, the challenges in them, where the header comes from)
REAL_HEADERS = [
    (['Basic realm="simple", Newauth realm="apps", type=1, title="Login to \\"apps\\""'],
     [("basic", {"realm": "simple"}), ("newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'})],
     "https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1 (two challenges in one field, an escaped quote)"),
    (['Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"'],
     [("newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}), ("basic", {"realm": "simple"})],
     "https://www.rfc-editor.org/rfc/rfc7235#section-4.1 (RFC 7235's order of the same example)"),
    (['AzureApiManagementKey realm="https://pratyay.azure-api.net/echo",name="Ocp-Apim-Subscription-Key",'
      'type="header"'],
     [("azureapimanagementkey", {"realm": "https://pratyay.azure-api.net/echo",
                                 "name": "Ocp-Apim-Subscription-Key", "type": "header"})],
     APIM_TROUBLESHOOTING + " (no space after the commas)"),
    (['Basic realm="foo", charset="UTF-8"'], [("basic", {"realm": "foo", "charset": "UTF-8"})],
     "https://www.rfc-editor.org/rfc/rfc7617#section-2.1"),
    (['Bearer realm="example"'], [("bearer", {"realm": "example"})],
     "https://www.rfc-editor.org/rfc/rfc6750#section-3"),
    (['Bearer realm="example", error="invalid_token", error_description="The access token expired"'],
     [("bearer", {"realm": "example", "error": "invalid_token",
                  "error_description": "The access token expired"})],
     "https://www.rfc-editor.org/rfc/rfc6750#section-3"),
    (['Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
      'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'],
     [("digest", {"realm": "http-auth@example.org", "qop": "auth, auth-int", "algorithm": "SHA-256",
                  "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                  "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"}),
      ("digest", {"realm": "http-auth@example.org", "qop": "auth, auth-int", "algorithm": "MD5",
                  "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                  "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"})],
     "https://www.rfc-editor.org/rfc/rfc7616#section-3.9.1 (two fields; a comma inside a quoted value)"),
    (['Basic realm="Stripe"'], [("basic", {"realm": "Stripe"})],
     "https://gist.github.com/ejcx/082fe45a5bfc7733983f (api.stripe.com's 401, 2016)"),
    (['Bearer realm="https://accounts.google.com/", error="invalid_token"'],
     [("bearer", {"realm": "https://accounts.google.com/", "error": "invalid_token"})],
     "https://github.com/codenameone/CodenameOne/issues/3135 (people.googleapis.com's 401)"),
    ([f'Bearer realm="", authorization_uri="{ENTRA_AUTHORIZE}", error="insufficient_claims", '
      f'claims="{ENTRA_CLAIMS}"'],
     [("bearer", {"realm": "", "authorization_uri": ENTRA_AUTHORIZE, "error": "insufficient_claims",
                  "claims": ENTRA_CLAIMS})],
     "https://learn.microsoft.com/entra/identity-platform/claims-challenge (an empty quoted realm)"),
    (["Negotiate", "NTLM"], [("negotiate", {}), ("ntlm", {})],
     "https://github.com/dotnet/corefx/issues/9234 (Microsoft-IIS/8.5: two fields, a bare scheme each)"),
    (["NTLM", "Negotiate"], [("ntlm", {}), ("negotiate", {})],
     "https://github.com/nodejs/node-v0.x-archive/pull/1083 (IIS, NTLM first)"),
    (["Negotiate a87421000492aa874209af8bc028"], [("negotiate", "a87421000492aa874209af8bc028")],
     "RFC 4559's example (a token68), as copied in public HTTP-parser tests"),
    (['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
      'scope="repository:samalba/my-app:pull,push"'],
     [("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                  "scope": "repository:samalba/my-app:pull,push"})],
     "https://docs.docker.com/reference/api/registry/auth (no space after the commas, one inside quotes)"),
    (['Basic realm="GitHub"'], [("basic", {"realm": "GitHub"})],
     "https://github.com/git-lfs/git-lfs/issues/4422 (GitHub's git over HTTPS, HTTP/2)"),
    (['Basic realm="https://tfsprodweu6.visualstudio.com/"'],
     [("basic", {"realm": "https://tfsprodweu6.visualstudio.com/"})],
     "https://github.com/curl/curl/issues/13899 (Azure DevOps)"),
    (['basic realm="Zope"'], [("basic", {"realm": "Zope"})],
     "https://github.com/opencor/opencor/issues/1009 (a lower-case scheme)"),
    (['DPoP algs="ES256 PS256"'], [("dpop", {"algs": "ES256 PS256"})],
     "https://www.rfc-editor.org/rfc/rfc9449#section-7.1 (Figure 15)"),
    (['DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256"'],
     [("dpop", {"error": "invalid_token", "error_description": "Invalid DPoP key binding", "algs": "ES256"})],
     "https://www.rfc-editor.org/rfc/rfc9449#section-7.1 (Figure 16)"),
    (['Bearer realm="WSO2 API Manager", error="invalid_token", error_description="The access token expired"'],
     [("bearer", {"realm": "WSO2 API Manager", "error": "invalid_token",
                  "error_description": "The access token expired"})],
     "https://github.com/wso2/carbon-apimgt/pull/9243"),
]


def test_a_real_malformed_value_gives_what_parses():
    """A gateway's bug (a leading "null", an unclosed quote), as reported in
    https://github.com/wso2/api-manager/issues/41: no exception, and the skipped pieces named."""
    parsed = parse_challenges('null Bearer realm="WSO2 API Manager", error="invalid_token", '
                              'error_description="The provided token is invalid')
    assert parsed.schemes == ["null"]
    assert len(parsed.skipped) == 2


def test_a_comma_right_after_the_scheme_is_read_as_the_server_meant():
    """https://github.com/dadi/api/pull/34 sent `Bearer, error=...`. The grammar wants 1*SP before the
    first parameter (RFC 9110 §11.6.1), so strictly these parameters belong to no challenge; this
    parser's own recovery reads them as Bearer's, which is what the server meant."""
    parsed = parse_challenges('Bearer, error="invalid_token", error_description="Invalid or expired access token"')
    assert shapes(parsed) == [("bearer", {"error": "invalid_token",
                                          "error_description": "Invalid or expired access token"})]


@pytest.mark.parametrize("fields, expected, source", REAL_HEADERS, ids=[row[2][:40] for row in REAL_HEADERS])
def test_real_headers_parse_to_their_challenges(fields, expected, source):
    parsed = parse_challenges(fields)
    assert shapes(parsed) == expected, source
    assert parsed.skipped == ()


@pytest.mark.parametrize("fields, expected, source", REAL_HEADERS, ids=[row[2][:40] for row in REAL_HEADERS])
def test_joined_field_lines_read_the_same(fields, expected, source):
    """RFC 9110 §5.3: field lines combine with ", " into one value, which must mean the same."""
    assert shapes(parse_challenges(", ".join(fields))) == expected


def test_a_response_reads_the_separate_field_lines():
    """requests joins repeated WWW-Authenticate fields; the parser reads urllib3's separate lines, so an
    unclosed quote in one field cannot swallow the next one's challenge (§5.3, §11.6.1)."""
    broken = response(401, [("WWW-Authenticate", 'Basic realm="unclosed'), ("WWW-Authenticate", "Bearer")])
    assert broken.headers["WWW-Authenticate"] == 'Basic realm="unclosed, Bearer'
    assert parse_challenges(broken.headers["WWW-Authenticate"]).schemes == ["Basic"]  # joined: Bearer lost
    assert response_challenges(broken).schemes == ["Basic", "Bearer"]


def test_a_hand_built_response_without_raw_uses_the_joined_field():
    built = requests.Response()
    built.status_code = 401
    built.headers["WWW-Authenticate"] = "Negotiate, NTLM"
    assert response_challenges(built).schemes == ["Negotiate", "NTLM"]


def test_scheme_and_parameter_names_are_case_insensitive_values_keep_their_case():
    """RFC 9110 §11.1 (auth-scheme) and §11.2 (auth-param names); values are not."""
    challenge = parse_challenges('BASIC Realm="Practice", CHARSET=UTF-8')[0]
    assert (challenge.scheme, challenge.name) == ("BASIC", "basic")
    assert dict(challenge.params) == {"realm": "Practice", "charset": "UTF-8"}
    assert parse_challenges("Bearer, bAsIc realm=x").find("BASIC").scheme == "bAsIc"


def test_token68_and_its_padding():
    """RFC 9110 §11.2: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="."""
    parsed = parse_challenges("Negotiate YIIB+w/Y==, Basic realm=x")
    assert shapes(parsed) == [("negotiate", "YIIB+w/Y=="), ("basic", {"realm": "x"})]


def test_bws_around_the_equals_sign_is_allowed():
    """RFC 9110 §11.2: auth-param = token BWS "=" BWS ( token / quoted-string )."""
    assert shapes(parse_challenges('Basic realm = "x" , charset =UTF-8')) == [
        ("basic", {"realm": "x", "charset": "UTF-8"})]


def test_empty_list_elements_are_accepted():
    """RFC 9110 §5.6.1: a recipient accepts empty list elements."""
    assert parse_challenges(", ,Basic realm=x,, Bearer").schemes == ["Basic", "Bearer"]


def test_a_repeated_parameter_keeps_the_first_and_says_so():
    """RFC 9110 §11.2: each parameter name MUST only occur once per challenge."""
    parsed = parse_challenges('Bearer realm="a", REALM="b", error=invalid_token')
    assert dict(parsed[0].params) == {"realm": "a", "error": "invalid_token"}
    assert len(parsed.skipped) == 1 and "repeated" in parsed.skipped[0] and "§11.2" in parsed.skipped[0]


@pytest.mark.parametrize("header, schemes, why", [
    ('"quoted", Basic realm=x', ["Basic"], "a scheme is a token"),
    ("x=y, Basic", ["Basic"], "belongs to no challenge"),
    ("Negotiate abc==, realm=x", ["Negotiate"], "belongs to no challenge"),
    ('Basic realm="a"b, Bearer', ["Basic", "Bearer"], "token or a quoted-string"),
    ('Basic realm="bad\x01char", Bearer', ["Basic", "Bearer"], "token or a quoted-string"),
    ("Basic\x00, Bearer", ["Bearer"], "followed by a space"),
    ('Basic realm="never closed, Bearer', ["Basic"], "token or a quoted-string"),
    ("Basic realm=x junk, charset=UTF-8", ["Basic"], "token or a quoted-string"),
])
def test_junk_is_skipped_and_named_never_raised(header, schemes, why):
    parsed = parse_challenges(header)
    assert parsed.schemes == schemes
    assert any(why in line for line in parsed.skipped), parsed.skipped


def test_an_empty_value_reads_as_the_token68_the_grammar_makes_of_it():
    """`realm=` with no value is no auth-param, but it is a token68 (letters, then "=" padding): the
    grammar reads it so, and the parameters after it belong to no challenge (RFC 9110 §11.2)."""
    parsed = parse_challenges("Basic realm=, charset=UTF-8, Bearer")
    assert shapes(parsed) == [("basic", "realm="), ("bearer", {})]
    assert parsed.skipped == ("skipped 'charset=UTF-8': a parameter that belongs to no challenge",)


def test_parameters_after_junk_belong_to_no_challenge():
    """After a piece that is no challenge, a name=value must not be pinned on the challenge before it."""
    parsed = parse_challenges('Basic realm="a", "junk", charset=UTF-8')
    assert dict(parsed[0].params) == {"realm": "a"}
    assert len(parsed.skipped) == 2


def test_a_header_of_junk_lists_twenty_pieces_and_counts_the_rest():
    parsed = parse_challenges("a=b, " * 1000 + "Basic")
    assert parsed.schemes == ["Basic"]
    assert len(parsed.skipped) == 21 and parsed.skipped[-1] == "and 980 more pieces skipped"


def test_nothing_at_all():
    assert parse_challenges(None) == Challenges() and parse_challenges("") == Challenges()
    assert parse_challenges([]).schemes == []


def test_a_challenge_prints_back_in_the_header_syntax():
    challenge = parse_challenges('Newauth title="Login to \\"apps\\"", type=1')[0]
    assert str(challenge) == 'Newauth title="Login to \\"apps\\"", type=1'
    assert str(Challenge("Negotiate", {}, "YII=")) == "Negotiate YII="


# -- recognise_scheme(): the scheme, with or without a challenge ------------------------------------

RECORDED = [  # (response, scheme, phrase of the evidence or advice, source)
    (response(401, [("WWW-Authenticate", 'Basic realm="practice", charset="UTF-8"')]), "Basic", "notebook 01",
     "the practice API"),
    (response(401, [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", error="invalid_token"')]),
     "Bearer", "get a new one", "https://github.com/codenameone/CodenameOne/issues/3135"),
    (response(403, [("WWW-Authenticate", 'Bearer error="insufficient_scope", scope="notes:write"')]), "Bearer",
     "'notes:write'", "https://www.rfc-editor.org/rfc/rfc6750#section-3.1"),
    (response(401, [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")]), "Negotiate",
     "requests-gssapi", "IIS, Windows authentication"),
    (response(401, [("WWW-Authenticate", "NTLM")]), "NTLM", "requests-ntlm", "IIS, NTLM only"),
    (response(401, [], {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
     "unknown", "https://docs.github.com/rest", "https://github.com/hisxo/gitGraber/issues/32"),
    (response(401, [], {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
     "API key", "invalid x-api-key", "https://github.com/abi/screenshot-to-code/issues/272"),
    (response(401, [], {"statusCode": 401, "message": "Access denied due to missing subscription key. Make sure "
                        "to include subscription key when making requests to an API."}),
     "API key", "missing subscription key", "https://github.com/MicrosoftDocs/azure-docs/issues/15130"),
    (response(403, [("x-amzn-RequestId", "4d2a9d3c-0000"), ("Content-Type", "text/xml")],
              '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
              "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid"
              "</Message></Error><RequestId>4d2a9d3c-0000</RequestId></ErrorResponse>"),
     "AWS Signature Version 4", "InvalidClientTokenId",
     "https://github.com/aws-azure-login/aws-azure-login/issues/251"),
    # the issue quotes the body; the x-amzn-RequestId is the one every AWS JSON answer carries
    (response(403, [("x-amzn-RequestId", "0c0a2f1e-0000")], {"__type": "InvalidSignatureException",
                                                             "message": "The request signature we "
                        "calculated does not match the signature you provided."}),
     "AWS Signature Version 4", "InvalidSignatureException", "https://github.com/smithy545/aws-apps-scripts/issues/12"),
    (response(200, [], {"ok": False, "error": "not_authed"}), "Bearer", "not_authed", "Slack's Web API"),
    (response(200, [], {"ok": True}), "none asked", "no error", "a success"),
    (response(401, [("WWW-Authenticate", 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                                         'common/oauth2/authorize", error="insufficient_claims", claims="eyJ9"')]),
     "Bearer", "challenge's claims", "https://learn.microsoft.com/entra/identity-platform/claims-challenge"),
]


@pytest.mark.parametrize("recorded, scheme, phrase, source", RECORDED, ids=[row[3][:40] for row in RECORDED])
def test_recognise_names_the_scheme_and_what_to_do(recorded, scheme, phrase, source):
    recognised = recognise_scheme(recorded)
    assert recognised.scheme == scheme, (source, recognised)
    assert phrase in str(recognised), (source, str(recognised))


def test_the_practice_apis_aws_endpoint_unsigned(api):
    """The practice API answers as AWS does (helpers/practice_api/sigv4.py): 403, x-amzn-ErrorType, no challenge."""
    unsigned = requests.get(api.url("/aws/whoami"), timeout=5)
    assert unsigned.status_code == 403 and "WWW-Authenticate" not in unsigned.headers
    recognised = recognise_scheme(unsigned)
    assert recognised.scheme == "AWS Signature Version 4" and "MissingAuthenticationToken" in recognised.evidence


def test_an_aws_error_type_that_is_not_about_signing_is_not_called_sigv4():
    """An API behind an AWS gateway may use its own scheme: only signing and credential codes say SigV4."""
    recognised = recognise_scheme(response(401, [("x-amzn-ErrorType", "UnauthorizedException")],
                                           {"message": "Unauthorized"}))
    assert recognised.scheme == "unknown"
    assert recognise_scheme(response(401, [], {"code": "AccessDenied"})).scheme == "unknown"


def test_recognise_picks_by_its_own_preference_not_the_first():
    """The helper's own policy (strongest first); RFC 9110 §11.6.1 ranks nothing."""
    recognised = recognise_scheme(response(401, [("WWW-Authenticate", 'Basic realm="x", Bearer realm="y"')]))
    assert recognised.scheme == "Bearer"
    assert recognised.evidence == "WWW-Authenticate offers Basic, Bearer; read Bearer (realm 'y')"


def test_the_evidence_does_not_read_like_a_malformed_challenge():
    """`Basic, realm 'practice'` looked like the broken `Bearer, error=` form."""
    recognised = recognise_scheme(response(401, [("WWW-Authenticate", 'Basic realm="practice"')]))
    assert recognised.evidence == "WWW-Authenticate offers Basic (realm 'practice')"


def test_azure_api_managements_challenge_names_the_header():
    """Microsoft's troubleshooting article shows APIM's 401 with `WWW-Authenticate: AzureApiManagementKey
    ..., name="Ocp-Apim-Subscription-Key", type="header"`: the challenge tells where the key goes."""
    recorded = response(401, [("WWW-Authenticate", 'AzureApiManagementKey realm="https://pratyay.azure-api.net/'
                                                   'echo",name="Ocp-Apim-Subscription-Key",type="header"')],
                        {"statusCode": 401, "message": "Access denied due to missing subscription key. Make "
                         "sure to include subscription key when making requests to an API."})
    recognised = recognise_scheme(recorded)
    assert recognised.scheme == "API key", recognised
    assert "the Ocp-Apim-Subscription-Key header" in recognised.advice


def test_an_unknown_scheme_falls_through_to_the_body():
    recorded = response(401, [("WWW-Authenticate", "Mutual realm=x")], {"message": "invalid api key"})
    recognised = recognise_scheme(recorded)
    assert recognised.scheme == "API key" and "Mutual" in recognised.evidence, recognised


def test_a_challenge_that_does_not_parse_is_not_reported_as_none():
    recognised = recognise_scheme(response(401, [("WWW-Authenticate", '"""')]))
    assert "did not parse" in recognised.evidence and "no challenge" not in recognised.evidence, recognised


@pytest.mark.parametrize("status, body, scheme, phrase", [
    # Google's documented API-key failure: https://github.com/vivet/GoogleApi/issues/375
    (400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                     "status": "INVALID_ARGUMENT"}}, "API key", "never in the URL"),
    # GitHub's docs: without a token, 404 or 403
    (404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, "unknown",
     "https://docs.github.com/rest"),
    (429, {"error": "rate_limited"}, "unknown", "read the docs"),
    (500, {"error": "internal"}, "unknown", "read the docs"),
    (404, None, "unknown", "read the docs"),
])
def test_an_error_status_is_never_a_success_nor_nothing_to_change(status, body, scheme, phrase):
    recognised = recognise_scheme(response(status, [], body))
    assert recognised.scheme == scheme and phrase in str(recognised), recognised
    assert "success status" not in str(recognised) and "nothing to change" not in str(recognised)


def test_an_error_in_a_success_status_is_called_so():
    recognised = recognise_scheme(response(200, [], {"error": "boom"}))
    assert "an error in a success status" in recognised.advice


@pytest.mark.parametrize("fields, body", [
    ([("x-amzn-RequestId", "abc")], "<Error><Code>AccessDenied</Code><Message>User is not authorized</Message>"
                                    "</Error>"),
    ([("x-amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/")],
     {"message": "User: arn:aws:iam::1:user/x is not authorized"}),
    ([("x-amz-request-id", "abc")], {"Code": "AccessDenied", "Message": "not authorized to perform s3:GetObject"}),
])
def test_aws_access_denied_is_a_missing_permission_not_a_signing_error(fields, body):
    recognised = recognise_scheme(response(403, fields, body))
    assert recognised.scheme == "AWS Signature Version 4", recognised
    assert "re-signing won't fix" in recognised.advice and "sign each request" not in recognised.advice


@pytest.mark.parametrize("status", [200, 403])
def test_an_aws_code_in_a_body_without_aws_headers_is_not_sigv4(status):
    body = {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}
    assert recognise_scheme(response(status, [], body)).scheme != "AWS Signature Version 4"
    signed = recognise_scheme(response(200, [("x-amzn-RequestId", "abc")], body))
    assert signed.scheme != "AWS Signature Version 4", signed  # a 200 is no refusal


def test_basic_over_plain_http_warns_about_cleartext():
    recorded = response(401, [("WWW-Authenticate", 'Basic realm="corp"')])
    recorded.url = "http://intranet.example.com/api"
    assert "plain http://" in recognise_scheme(recorded).advice
    recorded.url = "https://intranet.example.com/api"
    assert "plain http://" not in recognise_scheme(recorded).advice
    recorded.url = "http://127.0.0.1:8000/basic/whoami"  # loopback never leaves the machine
    assert "plain http://" not in recognise_scheme(recorded).advice


@pytest.mark.parametrize("url, leaves", [
    ("http://[::1]:8000/x", False),  # IPv6 loopback with a port: the port is no part of the host
    ("http://[::1]/x", False),
    ("http://127.0.0.2/", False),  # all of 127.0.0.0/8 is loopback (RFC 1122 §3.2.1.3)
    ("http://localhost.:8000/", False),  # the fully qualified localhost (RFC 6761 §6.3)
    ("HTTP://LOCALHOST/", False),
    ("http://api.example.com/", True),
    ("http://user@127.0.0.1.example.com/", True),  # a name that starts like an address
    ("http://10.0.0.1:8080/", True),
])
def test_cleartext_warning_only_off_the_machine(url, leaves):
    recorded = response(401, [("WWW-Authenticate", 'Basic realm="corp"')])
    recorded.url = url
    assert ("plain http://" in recognise_scheme(recorded).advice) is leaves


def test_slack_token_revoked_is_about_the_token():
    """Slack's method docs list token_revoked: "... or the app has been removed"."""
    assert recognise_scheme(response(200, [], {"ok": False, "error": "token_revoked"})).scheme == "Bearer"


def test_insufficient_scope_on_a_401_is_flagged_off_the_spec():
    """RFC 6750 §3.1: insufficient_scope "SHOULD respond with the HTTP 403 (Forbidden) status code"."""
    on_401 = recognise_scheme(response(401, [("WWW-Authenticate", 'Bearer error="insufficient_scope"')]))
    on_403 = recognise_scheme(response(403, [("WWW-Authenticate", 'Bearer error="insufficient_scope"')]))
    assert "§3.1" in on_401.advice and "§3.1" not in on_403.advice


def test_a_407_reads_proxy_authenticate():
    """RFC 9110 §11.7.1 and §15.5.8: a proxy's challenge comes in Proxy-Authenticate."""
    assert recognise_scheme(response(407, [("Proxy-Authenticate", "Basic realm=proxy")])).scheme == "Basic"


def test_an_unknown_scheme_is_named_as_sent():
    assert recognise_scheme(response(401, [("WWW-Authenticate", "Mutual realm=x")])).scheme == "Mutual"


def test_a_body_message_is_cut_and_stripped_of_control_characters():
    recognised = recognise_scheme(response(401, [], {"message": "bad\r\nkey " + "x" * 500}))
    assert "\r" not in str(recognised) and "\n" not in str(recognised) and len(str(recognised)) < 400


# -- never raises ---------------------------------------------------------------------------------

HEADERISH = st.text(alphabet=st.sampled_from(list('Basic Bearer Negotiate realm="\\,= \t=/+~x\x00\x7f\u00e9')),
                    max_size=80)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), HEADERISH, st.lists(HEADERISH, max_size=4)))
def test_fuzz_parse_never_raises_and_every_scheme_is_a_token(value):
    parsed = parse_challenges(value)
    assert isinstance(parsed, Challenges)
    for challenge in parsed:
        assert challenge.scheme and set(challenge.scheme) <= TCHAR
        assert all(name and set(name) <= TCHAR and name == name.lower() for name in challenge.params)


TOKENS = st.text(alphabet=sorted(TCHAR), min_size=1, max_size=8)
VALUES = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(TOKENS, st.dictionaries(TOKENS.map(str.lower), VALUES, max_size=3)), min_size=1,
                max_size=3))
def test_fuzz_printed_challenges_parse_back(challenges):
    """Whatever Challenge prints (tokens, quoted-strings with quoted-pairs) parses back as it was."""
    header = ", ".join(str(Challenge(scheme, params)) for scheme, params in challenges)
    assert [(c.scheme, dict(c.params)) for c in parse_challenges(header)] == challenges


@settings(max_examples=200, deadline=None)
@given(status=st.sampled_from([200, 400, 401, 403, 407, 500]),
       fields=st.lists(st.tuples(st.sampled_from(["WWW-Authenticate", "Proxy-Authenticate", "x-amzn-ErrorType",
                                                  "x-amzn-RequestId"]), HEADERISH), max_size=3),
       body=st.one_of(st.none(), st.text(max_size=60), st.recursive(
           st.none() | st.booleans() | st.text(max_size=10) | st.integers(),
           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
               st.sampled_from(["ok", "error", "message", "Code", "__type", "documentation_url"]), inner,
               max_size=3), max_leaves=8)))
def test_fuzz_recognise_always_answers(status, fields, body):
    recognised = recognise_scheme(response(status, fields, body))
    assert recognised.scheme and recognised.evidence and recognised.advice


@pytest.mark.parametrize("odd", [None, 42, "text", object(), {"headers": None},
                                 {"status_code": 401, "headers": {"WWW-Authenticate": "Basic"}}])
def test_recognise_answers_whatever_it_is_given(odd):
    """Not a response (a dict included: its status is not read): "unknown", never "nothing to change"."""
    recognised = recognise_scheme(odd)
    assert recognised.scheme == "unknown" and "not a response" in recognised.evidence, recognised


def as_older_reads_it(challenge: Challenge) -> tuple[str, dict[str, str]]:
    """A Challenge as helpers/client/auth.py's own parser gives it: a token68 under the name ""."""
    if challenge.token68 is not None:
        return challenge.name, {"": challenge.token68}
    return challenge.name, dict(challenge.params)


@pytest.mark.parametrize("fields, expected, source", REAL_HEADERS, ids=[row[2][:40] for row in REAL_HEADERS])
def test_the_token_clients_own_parser_reads_real_headers_the_same(fields, expected, source):
    """helpers/client/auth.py keeps a smaller parser of its own (each client file is copied alone, so
    one cannot import the other): on every real header the two must find the same challenges."""
    from helpers.client import auth

    older = [(scheme, dict(params)) for scheme, params in auth._parse_challenges(", ".join(fields))]
    assert older == [as_older_reads_it(challenge) for challenge in parse_challenges(fields)], source


PIECES = st.sampled_from(["Bearer", "Basic", "DPoP", "Negotiate", " ", " ", ",", "=", '"', "\\", "\t", "error",
                          "invalid_token", "realm", "a", "abc==", "x y", 'scope="a b"', ";", "/", "+", "~", "é",
                          "\x00", "\x7f", "\r\n", '""', 'realm="\x01"', 'title="\\"x\\""'])


@settings(max_examples=1500, deadline=None, database=None)
@given(st.lists(PIECES, max_size=14).map("".join))
def test_fuzz_the_token_clients_own_parser_agrees_on_any_header(header):
    """The two parsers agree on junk too: a tab after the scheme, "name =" with no value, parameters
    after a token68, control characters in a quoted-string."""
    from helpers.client import auth

    assert auth._parse_challenges(header) == [as_older_reads_it(c) for c in parse_challenges(header)]


@pytest.mark.parametrize("header, expected", [
    ('Bearer\terror="invalid_token"', [("bearer", {})]),  # a tab straight after the scheme: not 1*SP
    ('Bearer\terror="invalid_token", realm=x', [("bearer", {"realm": "x"})]),  # only that piece skipped
    ('Bearer \terror="invalid_token", realm=x', [("bearer", {"realm": "x"})]),  # space, then tab: the same
    ("Bearer\t, Basic realm=x", [("bearer", {}), ("basic", {"realm": "x"})]),  # OWS before a comma is fine
    ("Negotiate\tYIIB+w==", [("negotiate", {})]),
    ('Bearer  error="invalid_token"', [("bearer", {"error": "invalid_token"})]),  # 1*SP: two spaces are fine
    ('Bearer error =\t"invalid_token"', [("bearer", {"error": "invalid_token"})]),  # BWS may hold a tab
])
def test_a_tab_after_the_scheme_keeps_the_scheme_and_skips_what_follows(header, expected):
    """RFC 9110 §11.3: challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]: spaces only
    (a tab is OWS around commas, and BWS around "="). The scheme word is still a challenge; what
    the tab leads to is skipped, the same with or without a space before the tab, and listed in
    .skipped."""
    from helpers.client import auth

    parsed = parse_challenges(header)
    assert [as_older_reads_it(c) for c in parsed] == expected == auth._parse_challenges(header)
    if "\t" in header.partition("=")[0] and "\t," not in header:
        assert any("tab" in line and "§11.3" in line for line in parsed.skipped), parsed.skipped


@pytest.mark.parametrize("header", ['Bearer\terror="invalid_token"', 'Bearer \terror="invalid_token"'])
def test_recognise_reads_bearer_before_a_tab(header):
    """The tab costs only the parameters: the scheme is Bearer, not "unknown ... did not parse"."""
    recognised = recognise_scheme(response(401, [("WWW-Authenticate", header)]))
    assert recognised.scheme == "Bearer" and "did not parse" not in recognised.evidence, recognised
    assert "invalid_token" not in recognised.evidence  # a skipped parameter is not read


def test_a_token68_takes_no_parameters_in_either_parser():
    """`Bearer abc, error="invalid_token"`: the error belongs to no challenge (RFC 9110 §11.3), so the
    token client must not read it as Bearer's invalid_token."""
    from helpers.client import auth

    assert auth._parse_challenges('Bearer abc, error="invalid_token"') == [("bearer", {"": "abc"})]
    assert "belongs to no challenge" in parse_challenges('Bearer abc, error="invalid_token"').skipped[0]


# -- every code the practice API's SigV4 verifier sends, on both transports ------------------------

def _aws_cases():
    """One way into each AWSError code of helpers/practice_api/sigv4.py: code -> [(case, send it)]."""
    from test_sigv4_server import ASIA, JSON, ORDER, send, signed

    def expired(api, http):
        request = signed(api, "GET", "/aws/whoami", presign=True, expires=60)
        api.clock.advance(120)
        return send(http, request)

    bad_key = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAXXXXXXXXXXXXXXXX/20260101/eu-west-1/practice/"
                                "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
               "X-Amz-Date": "20260101T000000Z"}
    return {
        "MissingAuthenticationToken": [("unsigned", lambda api, http: http.get(api.url("/aws/whoami"), timeout=5))],
        "SignatureDoesNotMatch": [("wrong secret", lambda api, http: send(
            http, signed(api, "GET", "/aws/whoami", secret="x" * 40)))],
        "RequestTimeTooSkewed": [("ten minutes old", lambda api, http: send(
            http, signed(api, "GET", "/aws/whoami", at=api.clock.now() - 600)))],
        "InvalidToken": [("ASIA key without its token", lambda api, http: send(
            http, signed(api, "GET", "/aws/whoami", entry=ASIA, token=None)))],
        "InvalidClientTokenId": [("unknown key id", lambda api, http: http.get(
            api.url("/aws/whoami"), headers=bad_key, timeout=5))],
        "IncompleteSignature": [("malformed Authorization", lambda api, http: http.get(
            api.url("/aws/whoami"), headers={"Authorization": "AWS4-HMAC-SHA256 garbage"}, timeout=5))],
        "AuthorizationQueryParametersError": [("presigned, parameters missing", lambda api, http: http.get(
            api.url("/aws/whoami?X-Amz-Algorithm=AWS4-HMAC-SHA256"), timeout=5))],
        "InvalidArgument": [
            ("both mechanisms", lambda api, http: http.get(
                api.url("/aws/whoami?X-Amz-Algorithm=AWS4-HMAC-SHA256"),
                headers={"Authorization": "AWS4-HMAC-SHA256 x"}, timeout=5)),
            ("X-Amz-Content-Sha256 not hex", lambda api, http: send(http, signed(
                api, "POST", "/aws/orders", body=ORDER,
                headers={**JSON, "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"})))],
        "AccessDenied": [("presigned URL expired", expired),
                         ("presigned URL dated ahead", lambda api, http: send(
                             http, signed(api, "GET", "/aws/whoami", presign=True, at=api.clock.now() + 600))),
                         ("header added after signing", lambda api, http: send(
                             http, signed(api, "GET", "/aws/whoami"), extra={"X-Amz-Meta-Note": "1"}))],
        "MisdirectedRequest": [("signed for another host", lambda api, http: send(
            http, signed(api, "GET", "/aws/whoami", origin="https://other.example"), url=api.url("/aws/whoami"),
            extra={"Host": "other.example"}))],
        "ValidationError": [("signed, body not a JSON object", lambda api, http: send(
            http, signed(api, "POST", "/aws/orders", body="[1]", headers=JSON)))],
        "XAmzContentSHA256Mismatch": [("body hash wrong", lambda api, http: send(http, signed(
            api, "POST", "/aws/orders", body=ORDER, headers={**JSON, "X-Amz-Content-Sha256": "0" * 64})))],
    }


def _codes_sigv4_raises() -> set[str]:
    """Every code literal in helpers/practice_api/sigv4.py's AWSError(...) calls, and its two helpers'."""
    import ast
    import inspect

    from helpers.practice_api import sigv4

    codes = set()
    for node in ast.walk(ast.parse(inspect.getsource(sigv4))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "AWSError" and len(node.args) > 1:
            if isinstance(node.args[1], ast.Constant):
                codes.add(node.args[1].value)
    return codes


AWS_CASES = _aws_cases()
GENERIC = "sign each request with your access key (notebook 07)"


def test_every_code_the_practice_sigv4_verifier_raises_is_driven_below():
    """A new AWSError code in sigv4.py fails here until it has a case (and so advice) of its own."""
    assert _codes_sigv4_raises() == set(AWS_CASES)


@pytest.mark.parametrize("code, case", [(code, case) for code, cases in AWS_CASES.items() for case, _ in cases],
                         ids=[f"{code}-{case}" for code, cases in AWS_CASES.items() for case, _ in cases])
def test_recognise_names_every_practice_sigv4_code_with_its_own_advice(any_api, http, code, case):
    """Each refusal of the practice SigV4 server, on both transports: SigV4, the code named, and advice
    about that code (never the bare "sign each request", never "some APIs answer a missing credential")."""
    send_it = dict(AWS_CASES[code])[case]
    refused = send_it(any_api, http)
    assert refused.status_code >= 400 and refused.json()["Code"] == code, refused.text
    recognised = recognise_scheme(refused)
    assert recognised.scheme == "AWS Signature Version 4", recognised
    named = ("the practice API's code MisdirectedRequest (421, RFC 9110 §15.5.20)" if code == "MisdirectedRequest"
             else f"AWS's error code {code}")
    assert named in recognised.evidence, recognised
    assert recognised.advice != GENERIC and "some APIs" not in recognised.advice, recognised


@pytest.mark.parametrize("code, phrase", [
    ("MisdirectedRequest", "sign for the host you send to"),
    ("ValidationError", "the signature was accepted"),
    ("InvalidToken", "send the session token"),
    ("InvalidArgument", "one auth mechanism"),
])
def test_aws_codes_that_are_not_a_bad_signature_say_what_is(code, phrase):
    assert phrase in recognise_scheme(response(400, [("x-amzn-ErrorType", code)], {"Code": code})).advice


def test_misdirected_request_is_called_the_practice_apis_code_not_awss():
    """sigv4.py's 421 MisdirectedRequest is its own code (RFC 9110 §15.5.20's status), not one AWS sends."""
    recognised = recognise_scheme(response(421, [("x-amzn-ErrorType", "MisdirectedRequest")],
                                           {"Code": "MisdirectedRequest"}))
    assert "the practice API's code MisdirectedRequest (421, RFC 9110 §15.5.20)" in recognised.evidence
    assert "AWS's" not in recognised.evidence and "sign for the host you send to" in recognised.advice


def test_any_x_amzn_errortype_on_an_error_is_named_as_awss_code():
    """x-amzn-ErrorType is AWS's: the code is named, not "unknown ... some APIs answer this way"."""
    recognised = recognise_scheme(response(400, [("x-amzn-ErrorType", "ThrottlingException:http://x/")],
                                           {"message": "Rate exceeded"}))
    assert recognised.scheme == "unknown" and "AWS's error code ThrottlingException" in recognised.evidence
    assert "some APIs" not in recognised.advice and "Rate exceeded" in recognised.evidence


@pytest.mark.parametrize("fields, body", [
    ([("x-amzn-ErrorType", "AccessDenied")],  # the practice API, as notebook 07's "header added after signing"
     {"Code": "AccessDenied", "Message": "There were headers present in the request which were not signed",
      "HeadersNotSigned": "x-amz-meta-note"}),
    ([("x-amz-request-id", "abc")],  # S3's XML answer
     "<Error><Code>AccessDenied</Code><Message>There were headers present in the request which were not signed"
     "</Message><HeadersNotSigned>x-amz-acl</HeadersNotSigned></Error>"),
    ([("x-amz-request-id", "abc")],
     "<Error><Code>AccessDenied</Code><Message>Denied</Message><HeadersNotSigned>x-amz-acl</HeadersNotSigned>"
     "</Error>"),
])
def test_access_denied_for_an_unsigned_header_says_sign_it(fields, body):
    """S3's AccessDenied with HeadersNotSigned is a signing mistake: "re-signing won't fix" would be wrong."""
    recognised = recognise_scheme(response(403, fields, body))
    assert recognised.scheme == "AWS Signature Version 4", recognised
    assert "added after signing" in recognised.advice and "before auth= runs" in recognised.advice
    assert "re-signing won't fix" not in recognised.advice


def test_the_practice_apis_unsigned_header_refusal_says_sign_it(any_api, http):
    """Notebook 07's "header added after signing", on both transports: not a missing permission."""
    refused = dict(AWS_CASES["AccessDenied"])["header added after signing"](any_api, http)
    assert refused.json()["HeadersNotSigned"] == "x-amz-meta-note"
    advice = recognise_scheme(refused).advice
    assert "added after signing" in advice and "re-signing won't fix" not in advice
    expired = recognise_scheme(dict(AWS_CASES["AccessDenied"])["presigned URL expired"](any_api, http))
    assert "expired" in expired.advice


@pytest.mark.parametrize("case, advice", [("presigned URL expired", "presign a new URL (a presigned URL expired)"),
                                          ("presigned URL dated ahead",
                                           "the URL is dated ahead: the signer's clock is ahead")])
def test_the_practice_apis_presigned_url_out_of_time_is_a_date_not_a_permission(any_api, http, case, advice):
    """The practice API's AccessDenied "Request has expired" / "Request is not yet valid" (S3's
    Messages), on both transports: the URL's date is wrong, no IAM permission is missing."""
    refused = dict(AWS_CASES["AccessDenied"])[case](any_api, http)
    recognised = recognise_scheme(refused)
    assert recognised.advice.startswith(advice), recognised
    assert "permission" not in recognised.advice and "re-signing won't fix" not in recognised.advice


@pytest.mark.parametrize("message, advice", [
    ("Request has expired", "presign a new URL (a presigned URL expired)"),
    ("Request is not yet valid", "the URL is dated ahead: the signer's clock is ahead"),
    ("Access Denied", "usually a permission is missing"),
])
def test_s3s_access_denied_xml_is_read_by_its_message(message, advice):
    """S3's XML error body, as a presigned GET gets it: the Message tells a date from a permission."""
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>{message}'
            "</Message><X-Amz-Expires>60</X-Amz-Expires><Expires>2026-12-01T10:01:00Z</Expires>"
            "<ServerTime>2026-12-01T10:05:00Z</ServerTime><RequestId>ABC</RequestId><HostId>h</HostId></Error>")
    recognised = recognise_scheme(response(403, [("x-amz-request-id", "ABC"),
                                                 ("Content-Type", "application/xml")], body))
    assert recognised.scheme == "AWS Signature Version 4", recognised
    assert "AWS's error code AccessDenied" in recognised.evidence
    assert advice in recognised.advice, recognised

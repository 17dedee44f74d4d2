"""Notebook 00, section 7 and exercise 3: real providers' recorded failures, and the check that judges
the scheme named and the call written for each. The right answers get "✓"; each plausible wrong or
insecure one (the key in the URL, the wrong header, `token` for `Bearer`, Basic where a key header is
wanted, no scheme word) gets "✗" with what to change. Nothing is sent: the check prepares the calls."""
from __future__ import annotations

import nbformat
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import base64
import re

from conftest import ROOT, assert_not_yet, assert_right
from helpers import checks
from helpers.checks.start_here import EXERCISE, RECORDED, STAND_IN_KEY
from helpers.client.challenges import recognise_scheme

KEY = STAND_IN_KEY


def request(provider: str, **kwargs) -> requests.Request:
    return requests.Request("POST" if provider == "anthropic" else "GET", RECORDED[provider].url, **kwargs)


def right_answers() -> dict:
    return {
        "github": ("Bearer", request("github", headers={"Authorization": f"Bearer {KEY}"})),
        "stripe": ("Basic", request("stripe", auth=(KEY, ""))),
        "anthropic": ("x-api-key", request("anthropic", headers={"x-api-key": KEY,
                                                                  "anthropic-version": "2023-06-01"})),
        "slack": ("Bearer", request("slack", headers={"Authorization": f"Bearer {KEY}"})),
        "azure_apim": ("API key", request("azure_apim", headers={"Ocp-Apim-Subscription-Key": KEY})),
    }


def judged(capsys, answers) -> str:
    checks.scheme_calls(answers)
    return capsys.readouterr().out


def test_the_right_answers(capsys):
    assert_right(judged(capsys, right_answers()), "never in the URL")


@pytest.mark.parametrize("provider, answer", [
    ("github", ("token", request("github", headers={"Authorization": f"token {KEY}"}))),  # GitHub's docs allow it
    ("stripe", ("Bearer", request("stripe", headers={"Authorization": f"Bearer {KEY}"}))),  # Stripe's docs too
    ("azure_apim", ("Ocp-Apim-Subscription-Key", request("azure_apim",
                                                         headers={"ocp-apim-subscription-key": KEY}))),
    ("github", ("Bearer", request("github", headers={"Authorization": f"bearer {KEY}"}).prepare())),
    ("anthropic", ("API key header", right_answers()["anthropic"][1])),
    ("slack", ("Bearer", request("slack", headers={"Authorization": f"Bearer {KEY}".encode()}))),  # bytes
    ("anthropic", ("X-API-Key", right_answers()["anthropic"][1])),
    ("azure_apim", ("subscription key", right_answers()["azure_apim"][1])),
    ("azure_apim", ("Ocp-Apim-Subscription-Key header", right_answers()["azure_apim"][1])),
    ("azure_apim", ("the subscription key", right_answers()["azure_apim"][1])),
    ("anthropic", ("api-key header", right_answers()["anthropic"][1])),
    # RFC 6750 §2.1: "Bearer" 1*SP b64token; RFC 9110 §5.5: a recipient strips trailing whitespace
    ("github", ("Bearer", request("github", headers={"Authorization": f"Bearer  {KEY}"}))),
    ("slack", ("Bearer", request("slack", headers={"Authorization": f"Bearer {KEY} "}))),
    ("slack", ("Bearer", requests.Request("POST", RECORDED["slack"].url,
                                          headers={"Authorization": f"Bearer {KEY}"}))),
    ("stripe", ("Basic", request("stripe", headers={
        "Authorization": f"Basic {base64.b64encode(f'{KEY}:'.encode()).decode()} "}))),
    ("anthropic", ("x-api-key", request("anthropic", headers={"x-api-key": KEY,
                                                              "anthropic-version": "2026-10-21"}))),
])
def test_other_forms_the_docs_allow(capsys, provider, answer):
    assert_right(judged(capsys, {**right_answers(), provider: answer}))


WRONG = {  # name: (provider, answer, the hint)
    "key-in-query": ("slack", ("Bearer", request("slack", params={"token": KEY})), "the key went in the URL"),
    "apim-query": ("azure_apim", ("API key", request("azure_apim", params={"subscription-key": KEY})),
                   "reads the header first"),
    "key-in-url-path": ("github", ("Bearer", requests.Request("GET", f"https://api.github.com/user?access_token="
                                                                     f"{KEY}")), "the key went in the URL"),
    "user-in-url": ("stripe", ("Basic", requests.Request("GET", f"https://{KEY}:@api.stripe.com/v1/customers")),
                    "the key went in the URL"),
    "token-for-slack": ("slack", ("Bearer", request("slack", headers={"Authorization": f"token {KEY}"})),
                        "`token` is a word GitHub accepts"),
    "no-scheme-word": ("github", ("Bearer", request("github", headers={"Authorization": KEY})), "no scheme word"),
    "basic-for-a-key-header": ("anthropic", ("x-api-key", request("anthropic", auth=(KEY, ""))),
                               "Basic is not what Anthropic reads"),
    "bearer-for-anthropic": ("anthropic", ("x-api-key", request("anthropic", headers={
        "Authorization": f"Bearer {KEY}", "anthropic-version": "2023-06-01"})), "the x-api-key header"),
    "no-anthropic-version": ("anthropic", ("x-api-key", request("anthropic", headers={"x-api-key": KEY})),
                             "anthropic-version"),
    "wrong-key-header": ("azure_apim", ("API key", request("azure_apim", headers={"X-API-Key": KEY})),
                         "Ocp-Apim-Subscription-Key header"),
    "key-as-password": ("stripe", ("Basic", request("stripe", auth=("", KEY))), "the key went as the password"),
    "basic-not-base64": ("stripe", ("Basic", request("stripe", headers={"Authorization": f"Basic {KEY}"})),
                         "not base64"),
    "stripe-password": ("stripe", ("Basic", request("stripe", auth=(KEY, "x"))), "no password"),
    "basic-for-slack": ("slack", ("Bearer", request("slack", auth=(KEY, ""))), "that is Basic"),
    "key-twice": ("github", ("Bearer", request("github", headers={"Authorization": f"Bearer {KEY}",
                                                                   "X-Token": KEY})), "send it once"),
    "plain-http": ("slack", ("Bearer", requests.Request("GET", "http://slack.com/api/auth.test",
                                                        headers={"Authorization": f"Bearer {KEY}"})), "over https"),
    "other-host": ("github", ("Bearer", requests.Request("GET", "https://api.github.example/user",
                                                         headers={"Authorization": f"Bearer {KEY}"})), "over https"),
    "no-key": ("github", ("Bearer", request("github", headers={"Authorization": "Bearer KEY"})),
               "the key is not in that request"),
    "quoted-key": ("azure_apim", ("API key", request("azure_apim", headers={
        "Ocp-Apim-Subscription-Key": f'"{KEY}"'})), "holds the key alone"),
    "wrong-scheme-name": ("anthropic", ("Bearer", right_answers()["anthropic"][1]), "invalid x-api-key"),
    "basic-named-for-github": ("github", ("Basic", right_answers()["github"][1]), "is not the scheme"),
    "bearer-key-for-azure": ("azure_apim", ("Bearer key", right_answers()["azure_apim"][1]), "is not the scheme"),
    "key-named-for-slack": ("slack", ("API key", right_answers()["slack"][1]), "is not the scheme"),
    "no-scheme-named": ("stripe", ("", right_answers()["stripe"][1]), "is not the scheme"),
    "not-a-pair": ("slack", right_answers()["slack"][1], "each answer is a pair"),
    "not-a-request": ("slack", ("Bearer", {"Authorization": f"Bearer {KEY}"}), "requests.Request(...)"),
    "a-response": ("slack", ("Bearer", requests.Response()), "requests.Request(...)"),
    # names that only look like a key's: another provider's header, or any words with "key" in them
    "the-monkey": ("anthropic", ("the monkey", right_answers()["anthropic"][1]), "is not the scheme"),
    "another-providers-key": ("anthropic", ("the subscription key", right_answers()["anthropic"][1]),
                              "is not the scheme"),
    "api-key-token": ("anthropic", ("api key token", right_answers()["anthropic"][1]), "is not the scheme"),
    "x-api-key-for-azure": ("azure_apim", ("x-api-key", right_answers()["azure_apim"][1]), "name=\"Ocp-Apim"),
    "bearer-header": ("slack", ("Bearer header", right_answers()["slack"][1]), "is not the scheme"),
    # the request body: Slack reads token= from a form body, but the exercise wants the header
    "slack-form-body": ("slack", ("Bearer", requests.Request("POST", RECORDED["slack"].url, data={"token": KEY})),
                        "Slack reads token= from a form body"),
    "slack-json-body": ("slack", ("Bearer", requests.Request("POST", RECORDED["slack"].url, json={"token": KEY})),
                        "not from a JSON one"),
    "key-in-body-and-header": ("anthropic", ("x-api-key", request("anthropic", json={"api_key": KEY}, headers={
        "x-api-key": KEY, "anthropic-version": "2023-06-01"})), "send it once"),
    "key-in-body-only": ("github", ("Bearer", requests.Request("POST", "https://api.github.com/user",
                                                               json={"token": KEY})), "this call is GET"),
    "anthropic-get": ("anthropic", ("x-api-key", requests.Request("GET", RECORDED["anthropic"].url, headers={
        "x-api-key": KEY, "anthropic-version": "2023-06-01"})), "this call is POST"),
    "other-port": ("github", ("Bearer", requests.Request("GET", "https://api.github.com:8443/user", headers={
        "Authorization": f"Bearer {KEY}"})), "as it is written"),
    "other-path": ("github", ("Bearer", requests.Request("GET", "https://api.github.com/users", headers={
        "Authorization": f"Bearer {KEY}"})), "as it is written"),
    "no-such-version": ("anthropic", ("x-api-key", request("anthropic", headers={
        "x-api-key": KEY, "anthropic-version": "2099-99-99"})), "versioning page"),
    "initial-version": ("anthropic", ("x-api-key", request("anthropic", headers={
        "x-api-key": KEY, "anthropic-version": "2023-01-01"})),
        "2023-01-01 is Anthropic's initial release, which its versioning page says is deprecated and may be "
        "unavailable for new users: use 2023-06-01 or 2026-10-21."),
    "basic-without-colon": ("stripe", ("Basic", request("stripe", headers={
        "Authorization": "Basic " + base64.b64encode(KEY.encode()).decode()})), "RFC 7617 §2"),
    "quoted-bearer": ("slack", ("Bearer", request("slack", headers={"Authorization": f'Bearer "{KEY}"'})),
                      "without quotes"),
}


@pytest.mark.parametrize("provider, answer, hint", WRONG.values(), ids=WRONG.keys())
def test_wrong_and_insecure_answers(capsys, provider, answer, hint):
    output = judged(capsys, {**right_answers(), provider: answer})
    assert_not_yet(output, hint)
    assert output.startswith(f"✗ Not yet: {provider}:"), output


def test_a_missing_provider_is_named(capsys):
    answers = right_answers()
    del answers["slack"]
    assert_not_yet(judged(capsys, answers), "no 'slack' entry")


@pytest.mark.parametrize("answers, hint", [(..., "replace the `...`"), ([1, 2], "should be a dict")])
def test_not_an_answer_yet(capsys, answers, hint):
    assert_not_yet(judged(capsys, answers), hint)


def test_a_request_that_cannot_be_prepared_is_feedback(capsys):
    broken = requests.Request("GET", "https://api.github.com:notaport/user")
    assert_not_yet(judged(capsys, {**right_answers(), "github": ("Bearer", broken)}), "could not prepare")


def test_the_recorded_failures_are_what_their_sources_show():
    failures = checks.recorded_failures()
    assert set(EXERCISE) <= set(failures)
    assert failures["stripe"].headers["WWW-Authenticate"] == 'Basic realm="Stripe"'
    assert failures["slack"].status_code == 200 and failures["slack"].json() == {"ok": False, "error": "not_authed"}
    # Microsoft's troubleshooting article shows APIM's 401 with its own challenge, naming the header
    assert failures["azure_apim"].headers["WWW-Authenticate"].startswith("AzureApiManagementKey realm=")
    assert 'name="Ocp-Apim-Subscription-Key",type="header"' in failures["azure_apim"].headers["WWW-Authenticate"]
    assert "WWW-Authenticate" not in failures["github"].headers and failures["github"].status_code == 401
    assert failures["aws"].status_code == 403 and "InvalidClientTokenId" in failures["aws"].text
    assert all(recorded.source.startswith("https://") for recorded in RECORDED.values())
    assert all(recorded.url.startswith("https://") for recorded in RECORDED.values())


@pytest.mark.parametrize("provider, scheme", [
    ("github", "unknown"), ("stripe", "Basic"), ("anthropic", "API key"), ("slack", "Bearer"),
    ("azure_apim", "API key"), ("google_oauth", "Bearer"), ("entra_id", "Bearer"),
    ("aws", "AWS Signature Version 4")])
def test_recognise_scheme_on_each_recorded_failure(provider, scheme):
    """GitHub's 401 has no challenge and a body that names no scheme: only the docs tell (step 1)."""
    assert recognise_scheme(checks.recorded_failures()[provider]).scheme == scheme


def test_the_check_sends_nothing(capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the check sent a request")
    monkeypatch.setattr(requests.Session, "send", refuse)
    assert_right(judged(capsys, right_answers()))


def test_the_notebook_names_every_provider_of_the_issue_with_its_docs():
    """Issue 18's list of providers: each has a row in notebook 00's table and a docs page in its References."""
    notebook = nbformat.read(ROOT / "notebooks" / "00-start-here.ipynb", as_version=4)
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    table = markdown.split("### Real providers", 1)[1].split("\n\n**", 1)[0]
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:] == ["GitHub REST API", "Stripe", "OpenAI", "Anthropic", "Google APIs, API key",
                        "Google APIs, OAuth 2.0", "AWS", "Azure API Management", "Microsoft Entra ID",
                        "Slack Web API", "Twilio"]
    references = markdown.split("## References", 1)[1]
    for page in ("docs.github.com", "docs.stripe.com", "developers.openai.com", "platform.claude.com",
                 "cloud.google.com",
                 "docs.aws.amazon.com", "api-management", "learn.microsoft.com/entra", "slack", "twilio.com"):
        assert page in references, page


HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(provider=st.sampled_from(EXERCISE), scheme=st.one_of(st.none(), st.integers(), HEADER_TEXT),
       headers=st.dictionaries(st.sampled_from(["Authorization", "x-api-key", "Ocp-Apim-Subscription-Key",
                                                "anthropic-version", "X-Other"]),
                               st.one_of(HEADER_TEXT, HEADER_TEXT.map(lambda text: f"{text}{KEY}")), max_size=3),
       params=st.dictionaries(HEADER_TEXT, HEADER_TEXT, max_size=2))
def test_fuzz_the_check_always_gives_a_verdict(capsys, provider, scheme, headers, params):
    answer = (scheme, request(provider, headers=headers, params=params))
    output = judged(capsys, {**right_answers(), provider: answer})
    assert output.startswith(("✓ Right: ", "✗ Not yet: ")) and output.count("\n") == 1, output


def test_notebook_00s_map_follows_each_notebooks_time_line():
    """The map in notebook 00 lists every notebook with the minutes of its own Time line (as the
    README's map does, tests/test_readme.py), so that it cannot go stale when a notebook grows."""
    notebook = nbformat.read(ROOT / "notebooks" / "00-start-here.ipynb", as_version=4)
    the_map = next(cell.source for cell in notebook.cells if cell.source.startswith("## The map"))
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        time_line = re.search(r"\*\*Time:\*\* (\d+) min teaching, (\d+) min exercises", path.read_text("utf-8"))
        assert time_line, path.name
        row = next((line for line in the_map.splitlines() if line.startswith(f"| {path.name[:2]} |")), "")
        assert path.name in row or path.name.startswith("00"), f"{path.name} is not on 00's map"
        assert row.endswith(f"| {time_line[1]} min | {time_line[2]} min |"), f"00's map: {path.name} {row!r}"

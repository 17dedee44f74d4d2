"""In a notebook, a check's feedback is wrapped between words, never inside one (issue 14, item 7).

JupyterLab shows printed text in a <pre> styled `word-break: break-all`, so one long line wrapped at
the edge of the output area in the middle of a word ("B" | "earerAuth"). The checks now wrap their
line themselves, at spaces, to fit the output area (about 107 columns at 1280 px with the file
browser open); outside IPython the line stays whole, as scripts and these tests read it.
"""
from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import pytest
import requests
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from helpers import checks
from helpers.checks import feedback as shared

def session_with_headers(headers: dict) -> requests.Session:
    session = requests.Session()
    session.headers.update(headers)
    return session


LONG_ANSWERS = [  # (check, a wrong answer whose feedback is long)
    (checks.retry_after, lambda response: None),
    (checks.next_step, lambda response: None),
    (checks.tls_session, requests.Session()),
    (checks.bearer_session, "https://api.practice.test/me?access_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2ln"),
    (checks.key_session, session_with_headers({"X-API-Key": "practice_rw_not-a-real-key"})),
    (checks.redact_api_key, lambda line: line),
]


@contextlib.contextmanager
def ipython_running(folder: Path):
    """An IPython shell is running, as in a notebook's kernel: get_ipython() returns it.

    It keeps no history and its profile lives in `folder`, so the test writes nothing to ~/.ipython.
    """
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config, ipython_dir=str(folder))
    try:
        yield shell
    finally:
        InteractiveShell.clear_instance()


@pytest.fixture
def in_a_notebook(tmp_path):
    with ipython_running(tmp_path) as shell:
        yield shell


def printed(capsys, check, answer) -> str:
    capsys.readouterr()
    # A check reports what the learner's function logged while it ran. Collect garbage first: a kernel client
    # that an earlier notebook test in this worker left behind logs "Could not destroy zmq context" when it is
    # finalized, and that line must not land in this check's feedback (it did, once, on Python 3.13).
    gc.collect()
    check(answer)
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.mark.parametrize("check, answer", LONG_ANSWERS, ids=[check.__name__ for check, _ in LONG_ANSWERS])
def test_in_a_notebook_no_line_is_wider_than_the_output_area_and_no_word_is_cut(capsys, tmp_path, check, answer):
    whole = printed(capsys, check, answer).rstrip("\n")
    assert len(whole) > shared.WIDTH, "pick an answer whose feedback needs wrapping"
    with ipython_running(tmp_path):
        wrapped = printed(capsys, check, answer).rstrip("\n")
    lines = wrapped.split("\n")
    assert len(lines) > 1
    assert all(len(line) <= shared.WIDTH for line in lines), lines
    assert lines[0].startswith("✗ Not yet: ") and all(line.startswith("  ") for line in lines[1:]), lines
    # every break stands where the whole line had a space: joined again, it is the same text, word for word
    assert " ".join(line.strip() for line in lines) == whole


def test_a_token_longer_than_a_line_stays_whole_and_hyphens_are_not_break_points(capsys, in_a_notebook):
    token = "x" * (shared.WIDTH + 10)
    shared.not_yet("send it in the X-API-Key header " * 6 + token + " and nothing else")
    lines = capsys.readouterr().out.rstrip("\n").split("\n")
    words = {word for line in lines for word in line.split()}
    assert token in words and "X-API-Key" in words
    assert not words & {"X-", "X-API-", "API-Key", "Key"}, lines


def test_a_short_line_is_printed_as_it_is(capsys, in_a_notebook):
    shared.right("the realm is 'practice'.")
    assert capsys.readouterr().out == "✓ Right: the realm is 'practice'.\n"


def test_outside_ipython_the_line_stays_whole(capsys):
    message = "word " * 60
    shared.not_yet(message)
    assert capsys.readouterr().out == f"✗ Not yet: {message}\n"

"""Issue 17, the client-code review: each finding, with the behaviour that fixes it.

Auth: sign-out after a failed save revokes the live refresh token; tokens with characters a header
cannot hold are refused by a message that names no value (RFC 6750 §2.1, RFC 6749 Appendix A.17);
an error body that is not a JSON object; an expires_at no float can hold; nothing of the login left
in state() after SignInAgain; an endpoint that always answers a bare 401 costs one refresh, not one
per request; a generator body is not sent twice after a 401.
Stores: a lock file or folder someone else controls is refused (as ssh's StrictModes does); a FIFO
or a folder at the store's path is refused at once; two stores on one path share one lock; load()
takes the lock; no temporary file with live tokens stays behind.
"""
from __future__ import annotations

import inspect
import os
import re
import stat
import sys
import threading
from pathlib import Path

import pytest
import requests
import responses

from helpers import (BearerAuth, FileTokenStore, InsecureTokenFileError, RefreshingBearerAuth, SignInAgain,
                     SignOutError, TokenSaveError, TokenStoreError, TokenStoreLockTimeout)
from helpers.client import token_store

from test_client_token_store import FailingOnce  # a store whose next save fails

TOKEN_URL = "https://auth.example.test/token"
REVOKE_URL = "https://auth.example.test/revoke"
API = "https://api.example.test/notes"
KEY = ("https://auth.example.test", "notes-cli", "ada")
TOKENS = {"access_token": "A1", "refresh_token": "R1", "token_type": "Bearer", "expires_in": 300}
STATE = {"access_token": "A1", "refresh_token": "R1", "expires_at": 2000.0, "scope": None, "token_type": "Bearer"}
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX owners and modes")




# -- sign-out after a failed save (item 1) --------------------------------------------------------------

def test_sign_out_after_a_failed_save_revokes_the_live_refresh_token_not_the_stored_spent_one(tmp_path):
    """RFC 7009 §2.1: the token to revoke is the one in use; the store's is the one the refresh spent."""
    store = FailingOnce(tmp_path / "tokens.json")
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json={**TOKENS, "access_token": "A2", "refresh_token": "R2"})
        revoke = mock.post(REVOKE_URL, status=200)
        auth = RefreshingBearerAuth(TOKEN_URL, TOKENS, client_id="notes-cli", store=store, store_key=KEY)
        store.fail = True
        with pytest.raises(TokenSaveError):
            auth.refresh()
        assert store.load(KEY)["refresh_token"] == "R1"  # the store is behind: R1 is spent
        auth.sign_out(REVOKE_URL)
        assert "token=R2" in revoke.calls[0].request.body and "R1" not in revoke.calls[0].request.body
    assert store.load(KEY) is None and auth.state() == {}


# -- characters a token may hold (item 6) --------------------------------------------------------------

BAD_ACCESS = ["A1\r\nX-Injected: 1", "A1\x00", "A 1", "A1\n", "ä1", "A1\x7f", "A1\t"]
REAL_ACCESS = ["00D5g000004NXXX!AQ4AQFnrf8HdA7dIVx3", "tok%2Fen", "abc=def", "=A1", "ya29.a0AfH6SMB"]


@pytest.mark.parametrize("token", REAL_ACCESS)
def test_access_tokens_servers_issue_are_used_though_not_b64tokens_rfc6749_appendix_a_12(token):
    """RFC 6750 §2.1's b64token refuses "!" and "%", which real tokens hold: access_token is 1*VSCHAR."""
    assert BearerAuth(token)(requests.Request("GET", API).prepare()).headers["Authorization"] == \
        f"Bearer {token}"


@pytest.mark.parametrize("token", BAD_ACCESS)
def test_bearer_auth_refuses_an_access_token_that_is_not_a_b64token_rfc6750_2_1(token):
    with pytest.raises(ValueError, match="RFC 6750 §2.1") as refused:
        BearerAuth(token)
    assert token not in str(refused.value) and "A1" not in str(refused.value)


@pytest.mark.parametrize("token, hint", [({"access_token": "A1"}, 'tokens["access_token"]'),
                                         ("Bearer A1", '"Bearer " is added for you'),
                                         ("A1\n", "line break at an end")])
def test_bearer_auth_says_what_the_usual_mistake_was(token, hint):
    with pytest.raises(ValueError, match=re.escape(hint)) as refused:
        BearerAuth(token)
    assert "A1" not in str(refused.value)


@pytest.mark.parametrize("token", BAD_ACCESS)
def test_a_token_response_with_such_an_access_token_is_refused_naming_no_value(token):
    with pytest.raises(ValueError, match="RFC 6750 §2.1") as refused:
        RefreshingBearerAuth(TOKEN_URL, {**TOKENS, "access_token": token})
    assert "A1" not in str(refused.value)


@pytest.mark.parametrize("token", ["R1\r\nX: 1", "R1\x00", "R1\x7f", "é"])
def test_a_refresh_token_that_is_not_vschar_is_refused_rfc6749_a17(token):
    with pytest.raises(ValueError, match="Appendix A.17") as refused:
        RefreshingBearerAuth(TOKEN_URL, {**TOKENS, "refresh_token": token})
    assert "R1" not in str(refused.value)


@pytest.mark.parametrize("field, value", [("access_token", "A1\r\nX: 1"), ("refresh_token", "R1\n"),
                                          ("access_token", "A\x001")])
def test_a_saved_state_with_such_a_token_is_refused_naming_no_value(field, value):
    with pytest.raises(ValueError, match=field) as refused:
        RefreshingBearerAuth.resume(TOKEN_URL, {**STATE, field: value})
    assert value not in str(refused.value) and "A1" not in str(refused.value)


def test_a_refreshed_access_token_with_crlf_never_reaches_the_wire():
    clock = [1000.0]
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS, now=lambda: clock[0])
    clock[0] += 300  # expired: the next request refreshes first
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, json={**TOKENS, "access_token": "A2\r\nX-Injected: 1"})
        api = mock.get(API)
        with pytest.raises(SignInAgain) as refused:
            requests.get(API, auth=auth, timeout=5)
        assert api.call_count == 0 and "A2" not in str(refused.value)


# -- error bodies that are not objects (item 7) --------------------------------------------------------

@pytest.mark.parametrize("body", [[], ["invalid_grant"], "invalid_grant", 400, None])
def test_a_json_error_body_that_is_not_an_object_is_an_http_error_not_a_crash(body):
    """RFC 6749 §5.2: the error response is a JSON object; anything else is just a failed refresh."""
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, status=400, json=body)
        with pytest.raises(requests.HTTPError):
            auth.refresh()


def test_a_revocation_answer_whose_body_is_a_json_list_is_a_sign_out_error():
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS)
    with responses.RequestsMock() as mock:
        mock.post(REVOKE_URL, status=503, json=["busy"])
        with pytest.raises(SignOutError, match="503"):
            auth.sign_out(REVOKE_URL)


# -- numbers no float holds (item 8) -------------------------------------------------------------------

@pytest.mark.parametrize("expires_at", [10 ** 400, -(10 ** 400)])
def test_resume_with_an_expires_at_no_float_can_hold_is_a_value_error(expires_at):
    with pytest.raises(ValueError, match="expires_at"):
        RefreshingBearerAuth.resume(TOKEN_URL, {**STATE, "expires_at": expires_at})


def test_an_expires_at_stored_as_a_huge_json_integer_is_refused_through_the_store(tmp_path):
    path = tmp_path / "tokens.json"
    FileTokenStore(path).save(KEY, STATE)
    path.write_text(path.read_text().replace("2000.0", "1" + "0" * 400))
    with pytest.raises(ValueError, match="expires_at"):
        RefreshingBearerAuth.from_store(TOKEN_URL, FileTokenStore(path), KEY)


# -- nothing left after SignInAgain (item 9) -----------------------------------------------------------

def test_after_invalid_grant_state_holds_no_token():
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS)
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
        with pytest.raises(SignInAgain):
            auth.refresh()
    assert auth.state() == {} and auth.access_token is None
    with pytest.raises(SignInAgain):  # and the next request sends nothing
        requests.get(API, auth=auth, timeout=5)


# -- a bare 401 that never goes away (item 10) ---------------------------------------------------------

def test_an_endpoint_that_always_answers_a_bare_401_costs_one_refresh_not_one_per_request():
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS)
    with responses.RequestsMock() as mock:
        api = mock.get(API, status=401)  # no WWW-Authenticate at all
        token = mock.post(TOKEN_URL, json={**TOKENS, "access_token": "A2", "refresh_token": "R2"})
        answers = [requests.get(API, auth=auth, timeout=5).status_code for _ in range(5)]
    assert answers == [401] * 5 and token.call_count == 1
    assert api.call_count == 6  # the first request and its one retry, then one each


def test_error_invalid_token_still_refreshes_each_time_rfc6750_3_1():
    """Only the server's own word (invalid_token) overrides the one-refresh rule for bare 401s."""
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS)
    tokens = iter(f"A{n}" for n in range(2, 10))
    with responses.RequestsMock() as mock:
        mock.get(API, status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        token = mock.add_callback(responses.POST, TOKEN_URL, callback=lambda request: (
            200, {}, '{"access_token": "%s", "token_type": "Bearer", "expires_in": 300}' % next(tokens)))
        for _ in range(3):
            assert requests.get(API, auth=auth, timeout=5).status_code == 401
    assert token.call_count == 3


# -- a body that cannot be sent twice (item 15) --------------------------------------------------------

def test_a_generator_body_is_not_resent_after_a_401_and_the_next_request_has_the_fresh_token():
    auth = RefreshingBearerAuth(TOKEN_URL, TOKENS)
    with responses.RequestsMock() as mock:
        api = mock.post(API, status=401)
        mock.post(TOKEN_URL, json={**TOKENS, "access_token": "A2", "refresh_token": "R2"})
        response = requests.post(API, data=(chunk for chunk in [b"note ", b"one"]), auth=auth, timeout=5)
        assert response.status_code == 401 and response.history == [] and api.call_count == 1
        mock.replace(responses.POST, API, status=201)
        requests.post(API, data=b"note two", auth=auth, timeout=5)
        assert mock.calls[-1].request.headers["Authorization"] == "Bearer A2"


# -- the lock file and its folder (item 3) -------------------------------------------------------------

@posix_only
def test_a_lock_file_another_user_owns_is_refused(tmp_path):
    lock = tmp_path / "tokens.json.lock"
    lock.touch(mode=0o600)
    os.chown(lock, 65534, 65534)  # nobody: as root, the test can play the other user
    with pytest.raises(InsecureTokenFileError, match="another user"):
        FileTokenStore(tmp_path / "tokens.json").save(KEY, STATE)
    assert not (tmp_path / "tokens.json").exists()


@posix_only
@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_a_lock_file_group_or_others_may_write_is_refused(tmp_path, mode):
    lock = tmp_path / "tokens.json.lock"
    lock.touch()
    lock.chmod(mode)
    with pytest.raises(InsecureTokenFileError, match="not used as the store's lock.*chmod 600"):
        FileTokenStore(tmp_path / "tokens.json").save(KEY, STATE)
    assert stat.S_IMODE(lock.stat().st_mode) == mode  # refused, not silently narrowed


@posix_only
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_a_folder_others_may_write_without_the_sticky_bit_is_refused_as_ssh_strictmodes(tmp_path, mode):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    store = FileTokenStore(shared / "tokens.json")
    with pytest.raises(InsecureTokenFileError, match="never a shared one"):
        store.save(KEY, STATE)
    with pytest.raises(InsecureTokenFileError, match="never a shared one"):
        store.load(KEY)


@posix_only
def test_a_folder_of_another_user_is_refused(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(InsecureTokenFileError, match="another user"):
        FileTokenStore(theirs / "tokens.json").load(KEY)


@posix_only
def test_in_a_sticky_shared_folder_a_lock_file_someone_else_made_first_is_refused(tmp_path):
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    store = FileTokenStore(shared / "tokens.json")
    store.save(KEY, STATE)  # sticky: others cannot rename our files, so the folder itself is allowed
    os.chown(shared / "tokens.json.lock", 65534, 65534)
    with pytest.raises(InsecureTokenFileError, match="another user"):
        store.save(KEY, STATE)


# -- what is at the store's path (item 4) --------------------------------------------------------------

@posix_only
def test_a_fifo_at_the_store_path_is_refused_at_once_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "tokens.json", 0o600)
    outcome: list[BaseException | object] = []

    def load() -> None:
        try:
            outcome.append(FileTokenStore(tmp_path / "tokens.json").load(KEY))
        except BaseException as error:  # noqa: BLE001: the outcome is what the test looks at
            outcome.append(error)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # unblock the hung open so that the thread ends, then fail
        os.close(os.open(tmp_path / "tokens.json", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load() waited on the FIFO")
    assert isinstance(outcome[0], TokenStoreError) and "not a regular file" in str(outcome[0])


def test_a_folder_at_the_store_path_is_a_token_store_error_with_the_fix(tmp_path):
    (tmp_path / "tokens.json").mkdir()
    with pytest.raises(TokenStoreError, match="not a regular file.*Remove it"):
        FileTokenStore(tmp_path / "tokens.json").load(KEY)


def test_a_folder_at_the_lock_path_is_a_token_store_error(tmp_path):
    (tmp_path / "tokens.json.lock").mkdir()
    with pytest.raises(TokenStoreError, match="not a regular file"):
        FileTokenStore(tmp_path / "tokens.json").save(KEY, STATE)


# -- one lock per file in a process, and its timeout (items 13, 14, 12) --------------------------------

def test_two_stores_on_one_path_in_one_thread_do_not_block_each_other(tmp_path):
    first = FileTokenStore(tmp_path / "tokens.json", lock_timeout=0.5)
    second = FileTokenStore(tmp_path / "." / "tokens.json", lock_timeout=0.5)
    with first.lock(KEY):
        second.save(KEY, STATE)  # the same lock, taken again by its holder
    assert first.load(KEY) == STATE


@posix_only
def test_a_symlink_at_the_lock_file_is_not_followed_to_name_the_lock(tmp_path):
    """Only the folder is resolved: a symlink at tokens.json.lock is refused, not resolved to its target."""
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE")
    os.chmod(secret, 0o600)
    os.symlink(secret, tmp_path / "tokens.json.lock")
    store = FileTokenStore(tmp_path / "tokens.json")
    assert store._lock.path == Path(os.path.realpath(tmp_path)) / "tokens.json.lock"
    with pytest.raises(InsecureTokenFileError, match="symbolic link"):
        store.save(KEY, STATE)
    assert secret.read_text() == "PRIVATE"


def test_a_symlinked_folder_still_gives_one_lock(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert (FileTokenStore(tmp_path / "real" / "t.json")._lock
            is FileTokenStore(tmp_path / "alias" / "t.json")._lock)


def test_two_stores_on_one_path_still_exclude_other_threads(tmp_path):
    first, second = FileTokenStore(tmp_path / "t.json"), FileTokenStore(tmp_path / "t.json", lock_timeout=0.1)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with first.lock(KEY):
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        with pytest.raises(TokenStoreLockTimeout):
            second.save(KEY, STATE)
        with pytest.raises(TokenStoreLockTimeout):  # load() takes the lock too (Windows: os.replace vs open)
            second.load(KEY)
    finally:
        release.set()
        holder.join()


def test_the_default_lock_timeout_outlasts_a_refresh_at_its_worst():
    """A refresh under the lock may take connect + read timeout; waiting less gives up on a healthy peer."""
    refresh_timeout = inspect.signature(RefreshingBearerAuth).parameters["timeout"].default
    assert FileTokenStore("t.json").lock_timeout == token_store.LOCK_TIMEOUT >= 3 * (2 * refresh_timeout)


# -- temporary files (item 15) -------------------------------------------------------------------------

def test_a_crash_between_the_temporary_file_and_the_replace_leaves_no_copy_of_the_tokens(tmp_path, monkeypatch):
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(KEY, STATE)

    def crash(source, target):
        raise KeyboardInterrupt  # anything at all, between the write and the rename

    monkeypatch.setattr(token_store.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save(KEY, {**STATE, "access_token": "A2"})
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]


def test_delete_and_sign_out_remove_temporary_files_a_killed_save_left(tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(KEY, STATE)
    stray = tmp_path / ".tokens.json.0123456789abcdef.tmp"  # what a SIGKILL mid-save leaves
    other = tmp_path / ".other.json.0123456789abcdef.tmp"  # another store's: not ours to remove
    stray.write_text('{"entries": "live tokens"}')
    other.write_text("{}")
    store.delete(KEY)
    assert not stray.exists() and other.exists()
    stray.write_text('{"entries": "live tokens"}')
    with responses.RequestsMock() as mock:
        mock.post(REVOKE_URL, status=200)
        RefreshingBearerAuth(TOKEN_URL, TOKENS, store=store, store_key=KEY).sign_out(REVOKE_URL)
    assert not stray.exists()


@posix_only
def test_a_symlink_at_the_store_path_is_an_insecure_token_file_error_not_a_bare_oserror(tmp_path):
    (tmp_path / "tokens.json").symlink_to("/etc/passwd")
    with pytest.raises(InsecureTokenFileError, match="symbolic link"):
        FileTokenStore(tmp_path / "tokens.json").load(KEY)


# -- the keyring on Windows (item 12) ------------------------------------------------------------------

def test_a_state_too_big_for_windows_credential_manager_is_refused_by_save_with_the_way_out(monkeypatch, tmp_path):
    """CRED_MAX_CREDENTIAL_BLOB_SIZE is 2560 bytes, UTF-16: about 1280 characters (jaraco/keyring#540)."""
    store = token_store.KeyringTokenStore("notes", lock_path=tmp_path / "notes.lock")
    monkeypatch.setattr(token_store.sys, "platform", "win32")
    with pytest.raises(TokenStoreError, match="2560 bytes.*FileTokenStore"):
        store.save(KEY, {**STATE, "access_token": "A" * 1300})

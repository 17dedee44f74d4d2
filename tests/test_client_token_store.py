"""The token stores (client/token_store.py) and the refresh that coordinates through them across processes.

- File back-end: created 0600 whatever the umask, never through a symlink, written atomically (a temporary
  file, fsync, os.replace: a crash mid-write leaves the old file), refused at load time if group or
  others may read it (a token file anyone can read is a login anyone can use).
- The lock is a lock file (flock): it holds across processes, waits with a timeout and a clear error,
  and is reentrant within a process.
- keyring back-end: tested with a keyring in memory, never the real keychain.
- Two processes that refresh at once spend the refresh token once (RFC 9700 §4.14.2: a second use is
  reuse, and the server ends the login); without the lock they both spend it and the login ends.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
import requests

from helpers import (FileTokenStore, InsecureTokenFileError, KeyringTokenStore, RefreshingBearerAuth, SignInAgain,
                     TokenStoreError, TokenStoreLockTimeout, serve_practice_api)
from helpers.client.token_store import InterProcessLock

from conftest import ada_login, token_calls  # tests/ is on sys.path

ROOT = Path(__file__).resolve().parents[1]
KEY = ("https://api.practice.test", "notes-cli", "ada")
STATE = {"access_token": "ACCESS-1", "refresh_token": "REFRESH-1", "expires_at": 2000.0, "scope": "notes:read",
         "token_type": "Bearer"}
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the file back-end --------------------------------------------------------------------------------

def test_save_load_delete_one_entry_per_issuer_client_and_user(tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    other_user, other_client = (*KEY[:2], "grace"), (KEY[0], "notes-web", KEY[2])
    assert store.load(KEY) is None  # no file yet
    store.save(KEY, STATE)
    store.save(other_user, {**STATE, "access_token": "g1"})
    store.save(other_client, {**STATE, "access_token": "w1"})
    assert store.load(KEY) == STATE and store.load(other_user)["access_token"] == "g1"
    assert FileTokenStore(tmp_path / "tokens.json").load(other_client)["access_token"] == "w1"  # a new process
    store.delete(KEY)
    store.delete(KEY)  # twice: nothing to delete is fine
    assert store.load(KEY) is None and store.load(other_user) is not None


@pytest.mark.parametrize("key", [("a", "b"), ("a", "b", ""), ("a", "b", 3), ["a", "b", "c"]])
def test_a_key_is_three_non_empty_strings(tmp_path, key):
    with pytest.raises(TypeError, match="issuer, client_id, user"):
        FileTokenStore(tmp_path / "tokens.json").save(key, STATE)


def test_keys_with_awkward_characters_do_not_collide(tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(("a b", "c", "d"), {**STATE, "access_token": "one"})
    store.save(("a", "b c", "d"), {**STATE, "access_token": "two"})
    assert store.load(("a b", "c", "d"))["access_token"] == "one"


@posix_only
@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_the_file_and_its_lock_are_created_0600_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        store = FileTokenStore(tmp_path / "tokens.json")
        store.save(KEY, STATE)
        store.save(KEY, {**STATE, "access_token": "a2"})  # a rewrite is a new file: 0600 again
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "tokens.json") == 0o600 and mode_of(tmp_path / "tokens.json.lock") == 0o600
    assert store.load(KEY)["access_token"] == "a2"


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606, 0o666])
def test_a_file_others_can_read_or_write_is_refused_with_the_fix(tmp_path, mode):
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(KEY, STATE)
    os.chmod(tmp_path / "tokens.json", mode)
    with pytest.raises(InsecureTokenFileError, match=f"mode {mode:04o}.*chmod 600") as refused:
        store.load(KEY)
    assert "ACCESS-1" not in str(refused.value) and "REFRESH-1" not in str(refused.value)
    with pytest.raises(InsecureTokenFileError):
        store.save(KEY, STATE)  # a save reads the file first: it does not quietly adopt it either
    os.chmod(tmp_path / "tokens.json", 0o600)
    assert store.load(KEY) == STATE


@posix_only
def test_a_symlink_is_never_followed(tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"version": 1, "entries": {}}))
    os.chmod(target, 0o600)
    (tmp_path / "tokens.json").symlink_to(target)
    with pytest.raises(OSError):
        FileTokenStore(tmp_path / "tokens.json").load(KEY)


def test_a_crash_mid_write_leaves_the_old_file_whole_and_no_temporary_file(tmp_path, monkeypatch):
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(KEY, STATE)
    before = (tmp_path / "tokens.json").read_bytes()

    def power_cut(fd):
        raise OSError("power cut")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError, match="power cut"):
        store.save(KEY, {**STATE, "access_token": "a2"})
    monkeypatch.undo()
    assert (tmp_path / "tokens.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert store.load(KEY) == STATE


def test_a_save_replaces_the_file_never_writes_into_it(tmp_path):
    """os.replace gives the name a new inode: a reader holding the old file never sees half of the new one."""
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(KEY, STATE)
    with open(tmp_path / "tokens.json", "rb") as reader:
        store.save(KEY, {**STATE, "access_token": "a2" * 1000})
        assert json.loads(reader.read())["entries"]  # the old content, whole
    assert store.load(KEY)["access_token"] == "a2" * 1000


def test_a_file_that_is_not_a_store_is_refused_clearly(tmp_path):
    path = tmp_path / "tokens.json"
    for junk in (b"not json", b"[]", b'{"entries": [1]}', b'{"entries": {"k": 1}}', b"\xff\xfe"):
        path.write_bytes(junk)
        os.chmod(path, 0o600)
        with pytest.raises(TokenStoreError, match="Delete it and sign in again"):
            FileTokenStore(path).load(KEY)


def test_the_file_is_created_in_a_new_private_folder(tmp_path):
    FileTokenStore(tmp_path / "app" / "tokens.json").save(KEY, STATE)
    if sys.platform != "win32":
        assert mode_of(tmp_path / "app") & 0o077 == 0


# -- the lock -----------------------------------------------------------------------------------------

def test_the_lock_excludes_another_holder_and_times_out_with_a_clear_error(tmp_path):
    """A second lock on the same file is what another process has: flock keeps it out."""
    first, second = InterProcessLock(tmp_path / "x.lock"), InterProcessLock(tmp_path / "x.lock", timeout=0.05)
    with first():
        started = time.monotonic()
        with pytest.raises(TokenStoreLockTimeout, match="held by another process for more than 0.05 s"):
            with second():
                pass
        assert 0.05 <= time.monotonic() - started < 1
    with second():  # released: it is free again
        pass


def test_the_lock_is_reentrant_and_guards_threads(tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json", lock_timeout=0.05)
    with store.lock(KEY):
        store.save(KEY, STATE)  # save takes the lock too: it does not wait for itself
        outcome = []
        thread = threading.Thread(target=lambda: outcome.append(_try_save(store)))
        thread.start()
        thread.join()
    assert outcome == ["timed out"]  # another thread waited for this one
    assert _try_save(store) == "saved"


def _try_save(store) -> str:
    try:
        store.save(KEY, STATE)
    except TokenStoreLockTimeout:
        return "timed out"
    return "saved"


def test_a_lock_left_by_a_dead_process_is_free(tmp_path):
    lock_file = tmp_path / "x.lock"
    code = (f"import fcntl, os; fd = os.open({str(lock_file)!r}, os.O_RDWR | os.O_CREAT, 0o600); "
            f"fcntl.flock(fd, fcntl.LOCK_EX); os._exit(1)")  # dies holding it, without unlocking
    if sys.platform == "win32":
        pytest.skip("fcntl")
    subprocess.run([sys.executable, "-c", code], check=False, timeout=10)
    with InterProcessLock(lock_file, timeout=0.05)():
        pass


# -- the keyring back-end -----------------------------------------------------------------------------

class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring in memory: the real keychain is never touched."""
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[service, username] = password

    def delete_password(self, service, username):
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("no such password")


@pytest.fixture
def memory_keyring():
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def test_keyring_store_save_load_delete(memory_keyring, tmp_path):
    store = KeyringTokenStore("notes", lock_path=tmp_path / "notes.lock")
    assert store.load(KEY) is None
    store.save(KEY, STATE)
    store.save((*KEY[:2], "grace"), {**STATE, "access_token": "g1"})
    assert store.load(KEY) == STATE and len(memory_keyring.passwords) == 2
    assert [name for service, name in memory_keyring.passwords] == [json.dumps(list(KEY)),
                                                                     json.dumps([*KEY[:2], "grace"])]
    store.delete(KEY)
    store.delete(KEY)
    assert store.load(KEY) is None and store.load((*KEY[:2], "grace"))["access_token"] == "g1"


def test_keyring_store_refuses_an_entry_it_did_not_write(memory_keyring, tmp_path):
    memory_keyring.set_password("notes", json.dumps(list(KEY)), "hunter2")
    with pytest.raises(TokenStoreError, match="sign in again"):
        KeyringTokenStore("notes", lock_path=tmp_path / "notes.lock").load(KEY)


@posix_only
@pytest.mark.parametrize("runtime_dir", [None, "run"])
def test_keyring_store_lock_is_found_from_home_alone_with_or_without_xdg_runtime_dir(
        memory_keyring, tmp_path, monkeypatch, runtime_dir):
    """A cron job (no $XDG_RUNTIME_DIR) and a login shell (one) must lock the same file (issue 17, item 2)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if runtime_dir is None:
        monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    else:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / runtime_dir))
    store = KeyringTokenStore("notes/cli")
    with store.lock(KEY):
        pass
    lock = tmp_path / "home" / ".cache" / "notes_cli.lock"
    assert lock.exists() and mode_of(lock) == 0o600
    assert not (tmp_path / "run").exists()


# -- RefreshingBearerAuth with a store ----------------------------------------------------------------

def test_the_auth_saves_to_the_store_and_from_store_resumes(api, tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    assert RefreshingBearerAuth.from_store(api.url("/oauth/token"), store, KEY) is None  # sign in first
    first = RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api), now=api.clock.now, store=store, store_key=KEY)
    assert store.load(KEY) == first.state()
    api.clock.advance(3600)
    second = RefreshingBearerAuth.from_store(api.url("/oauth/token"), store, KEY, now=api.clock.now)
    assert requests.get(api.url("/me"), auth=second, timeout=5).status_code == 200
    assert second.refreshes == 1 and store.load(KEY) == second.state() != first.state()


def test_a_refresh_takes_what_another_process_saved_instead_of_spending_a_rotated_token(api, tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    mine = RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api), now=api.clock.now, store=store, store_key=KEY)
    other = RefreshingBearerAuth.from_store(api.url("/oauth/token"), store, KEY, now=api.clock.now)
    api.clock.advance(290)  # both see a token inside the margin
    assert requests.get(api.url("/me"), auth=other, timeout=5).status_code == 200  # the other refreshes
    assert requests.get(api.url("/me"), auth=mine, timeout=5).status_code == 200  # and this one takes it
    assert mine.refreshes == 0 and len(token_calls(api)) == 1
    assert mine.state() == other.state() == store.load(KEY)


def test_invalid_grant_deletes_the_stored_entry_and_raises_sign_in_again(api, tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    tokens = ada_login(api)
    auth = RefreshingBearerAuth(api.url("/oauth/token"), tokens, now=api.clock.now, store=store, store_key=KEY)
    requests.post(api.url("/oauth/revoke"), data={"token": tokens["refresh_token"]}, timeout=5).raise_for_status()
    api.clock.advance(290)
    with pytest.raises(SignInAgain, match="log in again"):
        requests.get(api.url("/me"), auth=auth, timeout=5)
    assert store.load(KEY) is None
    with pytest.raises(SignInAgain):  # and nothing is sent again
        auth.refresh()
    assert len(token_calls(api)) == 1


def test_an_entry_another_process_deleted_means_sign_in_again_here(api, tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    auth = RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api), now=api.clock.now, store=store, store_key=KEY)
    store.delete(KEY)  # another process signed out
    with pytest.raises(SignInAgain, match="gone from the token store"):
        auth.refresh()
    assert token_calls(api) == []


# -- two processes, one refresh -----------------------------------------------------------------------

WORKER = """
import sys
sys.path.insert(0, sys.argv[1])
import requests
from helpers.client.auth import RefreshingBearerAuth, SignInAgain
from helpers.client.token_store import FileTokenStore

token_url, api_url, path, mode = sys.argv[2:]
store, key = FileTokenStore(path), ("issuer", "notes-cli", "ada")
if mode == "store":  # refresh under the store's lock, after reading it again
    auth = RefreshingBearerAuth.from_store(token_url, store, key)
else:  # saves every refresh, but does not coordinate
    auth = RefreshingBearerAuth.resume(token_url, store.load(key), on_tokens=lambda s: store.save(key, s))
print("ready", flush=True)
sys.stdin.readline()  # both have read the stale state: now both make a request at once
try:
    print(requests.get(api_url, auth=auth, timeout=5).status_code, auth.refreshes, flush=True)
except SignInAgain:
    print("sign in again", flush=True)
"""


def run_two_workers(tmp_path, api, mode: str) -> list[str]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    store = FileTokenStore(tmp_path / "tokens.json")
    key = ("issuer", "notes-cli", "ada")
    stale = {**RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api)).state(), "expires_at": time.time() - 1}
    store.save(key, stale)
    args = [sys.executable, str(script), str(ROOT), api.url("/oauth/token"), api.url("/me"), str(store.path), mode]
    workers = [subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for worker in workers:
            assert worker.stdout.readline() == "ready\n"
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        return sorted(worker.communicate(timeout=20)[0].strip() for worker in workers)
    finally:
        for worker in workers:
            worker.kill()


def test_two_processes_with_the_store_lock_refresh_once_and_the_login_survives(tmp_path):
    with serve_practice_api() as api:
        outputs = run_two_workers(tmp_path, api, "store")
        assert outputs == ["200 0", "200 1"]  # one refreshed; the other took its tokens
        assert len(token_calls(api)) == 1
        # no reuse detection: the saved refresh token still works
        saved = FileTokenStore(tmp_path / "tokens.json").load(("issuer", "notes-cli", "ada"))
        RefreshingBearerAuth.resume(api.url("/oauth/token"), saved).refresh()
        assert api.app.errors == []


def test_two_processes_without_the_lock_spend_the_token_twice_and_the_login_ends(tmp_path):
    with serve_practice_api() as api:
        outputs = run_two_workers(tmp_path, api, "no lock")
        first, second = token_calls(api)[:2]
        assert first.body == second.body  # the same refresh token, twice
        # The second use is reuse (RFC 9700 §4.14.2). The winner's own request may come after the
        # revocation too: then its 401 refreshes with its new token, which is refused as well.
        assert "sign in again" in outputs and len(token_calls(api)) in (2, 3)
        saved = FileTokenStore(tmp_path / "tokens.json").load(("issuer", "notes-cli", "ada"))
        with pytest.raises(SignInAgain):  # ... and it revoked the whole login, the winner's tokens too
            RefreshingBearerAuth.resume(api.url("/oauth/token"), saved).refresh()


class FailingOnce(FileTokenStore):
    """A store whose next save fails (a full disk), as a test switches it on."""
    fail = False

    def save(self, key, state):
        if self.fail:
            self.fail = False
            raise OSError("No space left on device")
        super().save(key, state)


def test_after_a_failed_save_the_older_stored_state_is_never_taken(api, tmp_path):
    """The store still holds the refresh token this process spent: taking it back would be the replay."""
    from helpers import TokenSaveError

    store = FailingOnce(tmp_path / "tokens.json")
    auth = RefreshingBearerAuth(api.url("/oauth/token"), ada_login(api), now=api.clock.now, store=store, store_key=KEY)
    spent = auth.state()["refresh_token"]
    store.fail = True
    with pytest.raises(TokenSaveError, match="No space left"):
        auth.refresh()
    assert store.load(KEY)["refresh_token"] == spent != auth.state()["refresh_token"]
    auth.refresh()  # with the new refresh token, not the stored spent one: no reuse detection
    assert store.load(KEY) == auth.state() and auth.refreshes == 2
    assert requests.get(api.url("/me"), auth=auth, timeout=5).status_code == 200


def test_a_relative_path_is_made_absolute_at_creation(tmp_path, monkeypatch):
    """A chdir after creating the store must not split the data from its lock (both stay in one folder)."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(mode=0o700)
    second.mkdir(mode=0o700)
    monkeypatch.chdir(first)
    store = FileTokenStore("tokens.json")
    monkeypatch.chdir(second)
    key = ("https://issuer.test", "notes-cli", "ada")
    with store.lock(key):
        store.save(key, {"access_token": "a", "refresh_token": "r"})
    assert store.path == first / "tokens.json"
    assert sorted(p.name for p in first.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert list(second.iterdir()) == []

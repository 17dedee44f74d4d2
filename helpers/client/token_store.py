"""Where a program keeps its tokens between runs: the system keyring, or a file only you can read.

Both stores keep one entry per key, `(issuer, client_id, user)`, and have the same four methods:

    store = FileTokenStore("~/.config/notes/tokens.json")      # or KeyringTokenStore("notes")
    key = ("https://api.practice.test", "notes-cli", "ada")
    with store.lock(key):                 # other threads and other processes wait here
        state = store.load(key)           # None if there is no entry
        ...
        store.save(key, state)            # a dict of JSON types, as RefreshingBearerAuth's on_tokens gets
    store.delete(key)                     # sign-out, or a refresh token the server refused

Why a lock: with refresh-token rotation (RFC 9700 §4.14.2), two processes that both refresh with the
same refresh token look like a thief and the legitimate client to the server, and it ends the login.
Take the lock, read the store again (another process may have refreshed while you waited), and only
then refresh if the stored refresh token is still the one you hold. The lock is a lock file next to
the store, `fcntl.flock` on POSIX and `msvcrt.locking` on Windows: the operating system releases it
when a process dies, so a crash never leaves it stuck. It is also reentrant within a process (save()
inside `with lock()` does not wait for itself) and it guards threads too.

The file back-end, for machines without a keyring (a server, a container, CI):
- created with mode 0600 (os.open with the mode, then fchmod, so that no umask widens or narrows it),
  never through a symlink (O_NOFOLLOW), and owned by you;
- written atomically: a temporary file in the same directory, fsync, then os.replace, so that a crash
  mid-write leaves the old file whole, never half a file;
- refused at load time (POSIX) if group or others may read or write it, or another user owns it, with
  the fix in the message. A token file anyone can read is a login anyone can use. The same goes for
  its lock file, and for a folder others may write without the sticky bit (ssh's StrictModes rule):
  keep the store in a folder of yours, never a shared one. A FIFO, a folder or a symlink at the path
  is refused at once (opened with O_NONBLOCK | O_NOFOLLOW, then fstat: a regular file only).
- On Windows the mode bits mean nothing (os.chmod only sets or clears read-only), so this file's
  safety is its folder's ACL: under your profile (%USERPROFILE%, %LOCALAPPDATA%) the default ACL gives
  access to you, SYSTEM and Administrators only. Keep the file there. This module does not check
  Windows ACLs (that needs the Win32 security API) and does not pretend to.

The keyring back-end uses the `keyring` package (as notebook 02 does): macOS Keychain, Windows
Credential Manager, the Secret Service on Linux desktops. The keyring has no lock, so it takes a lock
file too, in a folder only you can write (see `KeyringTokenStore`).

This file imports nothing else from `helpers`: copy it into a project on its own.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

Key = tuple  # (issuer, client_id, user): three strings
POLL_SECONDS = 0.01  # how often a waiting process tries the lock file again
# How long to wait for another process's lock. It must outlast what that process does under it: a
# refresh, whose worst case is RefreshingBearerAuth's timeout twice (connect 5 s, then read 5 s), plus
# a name lookup (which no timeout covers) and the save. 30 s is three refreshes' worth.
LOCK_TIMEOUT = 30.0
_LOCKS: dict[Path, "InterProcessLock"] = {}  # one InterProcessLock per lock file in this process
_LOCKS_GUARD = threading.Lock()

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl


class TokenStoreError(Exception):
    """The store cannot be used as it is; the message says why and what to do."""


class InsecureTokenFileError(TokenStoreError, PermissionError):
    """The token file may be read by someone else (or belongs to someone else): it is not used."""


class TokenStoreLockTimeout(TokenStoreError, TimeoutError):
    """Another process (or thread) held the store's lock for longer than the timeout."""


class InterProcessLock:
    """A reentrant lock that holds across processes: a lock file, flock on POSIX, msvcrt.locking on Windows.

    Within a process, a threading.RLock comes first (flock does not exclude two threads that open
    the file separately, and one thread may take the lock again, as save() inside `with lock()` does).
    The lock file holds nothing: the operating system lock on it is the lock, released when the process
    closes it or dies. It is created 0600 and never through a symlink, like the store itself.
    """

    def __init__(self, path: str | os.PathLike, timeout: float = LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @classmethod
    def for_path(cls, path: str | os.PathLike) -> InterProcessLock:
        """The one lock of this process for `path`: two stores on one file share it.

        flock excludes open files, not processes: two locks of one process on one file, each with
        its own open file, would wait for each other (a thread that holds one and takes the other
        waits for ever, until its timeout).
        """
        path = Path(path).expanduser()
        # the folder only: a symlink at the lock file itself must be refused when opened, not followed
        resolved = Path(os.path.realpath(path.parent)) / path.name
        with _LOCKS_GUARD:
            lock = _LOCKS.get(resolved)
            if lock is None:
                lock = _LOCKS[resolved] = cls(resolved)
            return lock

    @contextlib.contextmanager
    def __call__(self, timeout: float | None = None) -> Iterator[None]:
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            raise self._timeout(timeout)
        try:
            if self._depth == 0:
                self._fd = self._acquire_file(deadline, timeout)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release_file()
        finally:
            self._threads.release()

    def _acquire_file(self, deadline: float, timeout: float) -> int:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_folder(self.path.parent)
        fd = _open_private(self.path, os.O_RDWR | os.O_CREAT)  # refuses one another user owns or may write
        try:
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise self._timeout(timeout)
                time.sleep(POLL_SECONDS)  # another process holds it: wait for it, never steal it
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _release_file(self) -> None:
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def _timeout(self, timeout: float) -> TokenStoreLockTimeout:
        return TokenStoreLockTimeout(
            f"The token store's lock ({self.path}) was held by another process for more than {timeout} s. "
            f"Another run of this program is probably refreshing or hung: wait for it, or stop it. (The lock "
            f"is released when its process exits, so deleting the lock file is never needed.)")


class FileTokenStore:
    """Tokens in one JSON file that only you can read; a lock file beside it, `<path>.lock`.

    `lock(key)` locks the whole file, whatever the key: every save rewrites the file, so two saves
    of different keys must not interleave either. `lock_timeout` is how long to wait for another
    process before TokenStoreLockTimeout: 30 s by default, longer than a refresh under the lock
    takes at worst (see LOCK_TIMEOUT). Two stores on one path in one process share one lock.

    Keep the file in a folder of yours (~/.config/<program>), never in a shared one (/tmp, a
    project folder others can write): a folder that others can write without the sticky bit is
    refused, as ssh's StrictModes refuses one for ~/.ssh, because they could swap the lock file
    or the store under you; in a sticky one, a lock file someone else created first is refused.

    Windows: os.replace fails (PermissionError) while another process has the file open, so load()
    takes the lock too (it is reentrant): a reader and the writer never hold the file at once.
    """

    def __init__(self, path: str | os.PathLike, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        # Absolute now (not resolved: a symlink at the path must still be seen and refused), so that
        # a later os.chdir() cannot send the tokens to one folder and the lock to another.
        self.path = Path(os.path.abspath(Path(path).expanduser()))
        self.lock_timeout = lock_timeout
        self._lock = InterProcessLock.for_path(self.path.with_name(self.path.name + ".lock"))

    def lock(self, key: Key) -> contextlib.AbstractContextManager:
        """Hold the store against other threads and processes; read the store again inside."""
        _check_key(key)
        return self._lock(self.lock_timeout)

    def load(self, key: Key) -> dict | None:
        """The state saved under `key`, or None. Refuses (InsecureTokenFileError) a file others can read."""
        with self.lock(key):
            return self._entries().get(_entry_name(key))

    def save(self, key: Key, state: dict) -> None:
        """Save `state` under `key`: 0600, atomically, under the lock."""
        with self.lock(key):
            entries = self._entries()
            entries[_entry_name(key)] = state
            self._write(entries)

    def delete(self, key: Key) -> None:
        """Forget `key`'s entry (nothing happens if there is none), and any temporary file a crashed
        save of this store left behind (it may hold live tokens)."""
        with self.lock(key):
            self._remove_stray_temporaries()
            entries = self._entries()
            if entries.pop(_entry_name(key), None) is not None:
                self._write(entries)

    def _temporary_prefix(self) -> str:
        return f".{self.path.name}."

    def _remove_stray_temporaries(self) -> None:
        """Temporary files of this store (`.<name>.<hex>.tmp`): only a save killed mid-way leaves one."""
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.path.parent):
                name = entry.name
                if name.startswith(self._temporary_prefix()) and name.endswith(".tmp") and \
                        entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)

    def _entries(self) -> dict[str, dict]:
        _check_folder(self.path.parent)
        try:
            # O_NONBLOCK: a FIFO put at the path would otherwise hang the open until someone writes to it
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _BINARY)
        except FileNotFoundError:
            return {}
        except IsADirectoryError:  # Windows refuses to open a folder; POSIX opens it and fstat says so
            raise _not_a_file(self.path) from None
        except OSError as error:
            if error.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
                raise _a_symlink(self.path) from None
            raise
        try:
            info = os.fstat(fd)  # the file we opened, not whatever the path names now
            if not stat.S_ISREG(info.st_mode):
                raise _not_a_file(self.path)
            _check_private(info, self.path)
        except BaseException:
            os.close(fd)
            raise
        with os.fdopen(fd, "rb") as file:
            raw = file.read()
        try:
            document = json.loads(raw)
            entries = document["entries"]
            if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
                raise ValueError
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise TokenStoreError(f"{self.path} is not a token store this program wrote (not the JSON it "
                                  f"expects). Delete it and sign in again.") from None
        return entries

    def _write(self, entries: dict[str, dict]) -> None:
        """Write a temporary file beside the store, fsync it, then os.replace: all or nothing."""
        body = json.dumps({"version": 1, "entries": entries}, allow_nan=False, indent=1).encode()
        temporary = self.path.with_name(f"{self._temporary_prefix()}{secrets.token_hex(8)}.tmp")
        fd = _open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(body)
                file.flush()
                os.fsync(file.fileno())  # the bytes are on disk before the name points at them
            os.replace(temporary, self.path)  # atomic on POSIX and Windows (same directory, same volume)
        finally:  # whatever happened, no copy of the tokens stays behind under another name
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        _fsync_directory(self.path.parent)  # and the rename itself survives a power cut (POSIX)

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"


class KeyringTokenStore:
    """Tokens in the system keyring (`keyring`), one password entry per key, under `service`.

    The entry's user name is the key as a JSON list (issuer, client_id and user may each hold
    any character), and the password is the state as JSON. The keyring has no lock of its own,
    so `lock(key)` takes a lock file: `lock_path`, by default `<service>.lock` in a folder only
    you can write that every process of yours finds the same way, from the home folder alone:
    %LOCALAPPDATA% on Windows, ~/.cache elsewhere. Not $XDG_RUNTIME_DIR: a cron job has none, an
    interactive login has one, and the two would lock different files. Never a shared folder
    such as /tmp, where another user could create the file first (such a lock file is refused).

    Windows Credential Manager keeps at most 2560 bytes per password (jaraco/keyring#540), and the
    state holds the access token too, which may be a long JWT. This store keeps the whole state,
    because the refresh across processes compares it (another process's new state means our refresh
    token is spent); a state too big for Windows raises TokenStoreError from save() that says so.
    Use FileTokenStore under %LOCALAPPDATA% for such tokens.
    """

    def __init__(self, service: str, *, lock_path: str | os.PathLike | None = None,
                 lock_timeout: float = LOCK_TIMEOUT) -> None:
        import keyring  # here, so that FileTokenStore works where keyring is not installed

        self._keyring = keyring
        self.service = service
        if lock_path is None:
            lock_path = _private_folder() / (_safe_file_name(service) + ".lock")
        self.lock_timeout = lock_timeout
        self._lock = InterProcessLock.for_path(lock_path)

    def lock(self, key: Key) -> contextlib.AbstractContextManager:
        """Hold the store against other threads and processes; read the store again inside."""
        _check_key(key)
        return self._lock(self.lock_timeout)

    def load(self, key: Key) -> dict | None:
        saved = self._keyring.get_password(self.service, _entry_name(key))
        if saved is None:
            return None
        try:
            state = json.loads(saved)
        except ValueError:
            state = None
        if not isinstance(state, dict):
            raise TokenStoreError(f"The keyring entry for {self.service} is not a token state this program "
                                  f"saved. Delete it (KeyringTokenStore.delete) and sign in again.")
        return state

    def save(self, key: Key, state: dict) -> None:
        saved = json.dumps(state, allow_nan=False)
        if sys.platform == "win32" and len(saved.encode("utf-16-le")) > WINDOWS_CREDENTIAL_BYTES:
            raise TokenStoreError(f"The token state is {len(saved)} characters, more than Windows Credential "
                                  f"Manager keeps (2560 bytes, UTF-16): use a FileTokenStore under %LOCALAPPDATA%.")
        with self.lock(key):
            self._keyring.set_password(self.service, _entry_name(key), saved)

    def delete(self, key: Key) -> None:
        with self.lock(key):
            with contextlib.suppress(self._keyring.errors.PasswordDeleteError):  # no entry: nothing to do
                self._keyring.delete_password(self.service, _entry_name(key))

    def __repr__(self) -> str:
        return f"KeyringTokenStore({self.service!r})"


# -- small pieces -------------------------------------------------------------------------------------

WINDOWS_CREDENTIAL_BYTES = 2560  # CRED_MAX_CREDENTIAL_BLOB_SIZE: keyring stores the password as UTF-16
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX; Windows has no symlink-following open flag to refuse
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # POSIX: opening a FIFO does not wait for a writer


def _check_key(key: Key) -> None:
    if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(part, str) and part for part in key)):
        raise TypeError("A token store key is (issuer, client_id, user): three non-empty strings.")


def _entry_name(key: Key) -> str:
    """One string for the key, unambiguous whatever the parts hold (a JSON list)."""
    _check_key(key)
    return json.dumps(list(key), ensure_ascii=False)


def _open_private(path: Path, flags: int) -> int:
    """Open `path` never through a symlink, and only if it is a regular file of ours that nobody else
    may read or write (InsecureTokenFileError otherwise); a file it creates is 0600 whatever the umask."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | _BINARY | _NONBLOCK, 0o600)
    except IsADirectoryError:
        raise _not_a_file(path) from None
    except OSError as error:
        if error.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise _a_symlink(path) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_a_file(path)
        if sys.platform != "win32":
            _check_private(info, path)  # a file someone else made first, or may write, is not ours to trust
            if stat.S_IMODE(info.st_mode) != 0o600:
                os.fchmod(fd, 0o600)  # a umask such as 0277 narrows the mode os.open was given: give it back
    except BaseException:
        os.close(fd)
        raise
    return fd


def _a_symlink(path: Path) -> InsecureTokenFileError:
    return InsecureTokenFileError(f"{path} is a symbolic link, which a token store never follows (it may "
                                  f"point at someone else's file). Remove it.")


def _not_a_file(path: Path) -> TokenStoreError:
    return TokenStoreError(f"{path} is not a regular file (a folder, a FIFO or a device is there), so it is not "
                           f"used. Remove it, or choose another path for the token store.")


def _check_folder(folder: Path) -> None:
    """Refuse a folder that another user owns, or that group or others may write without the sticky bit.

    Whoever can write the folder can rename our files away and put theirs in place: a lock file of
    theirs (two processes then lock two different files) or a token file (ssh refuses ~/.ssh in such
    a folder: StrictModes). In a sticky folder (/tmp), only a file's owner may rename it, and the
    owner check on the file itself catches one someone else created first.
    """
    if sys.platform == "win32":
        return  # Windows: the folder's ACL decides (see the module docstring)
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        return  # nothing there yet: save() creates it 0700
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid not in (os.geteuid(), 0):
        raise InsecureTokenFileError(f"{folder} belongs to another user (uid {info.st_uid}), who could replace the "
                                     f"token store's files: keep the store in a folder of yours (~/.config/...).")
    if mode & 0o022 and not mode & stat.S_ISVTX:
        raise InsecureTokenFileError(
            f"{folder} can be written by others (mode {mode:04o}) and has no sticky bit, so they could replace the "
            f"token store's files: keep the store in a folder only you can write (chmod go-w {folder}), never a "
            f"shared one.")


def _check_private(info: os.stat_result, path: Path) -> None:
    """Refuse a token file that others may read or write, or that belongs to another user (POSIX)."""
    if sys.platform == "win32":
        return  # mode bits are not Windows' permissions: see the module docstring
    if info.st_uid != os.geteuid():
        raise InsecureTokenFileError(f"{path} belongs to another user (uid {info.st_uid}), so it is not used: "
                                     f"keep the store in a folder of yours, never a shared one. Delete it and "
                                     f"sign in again.")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077 and path.name.endswith(".lock"):
        raise InsecureTokenFileError(
            f"{path} can be read or written by others (mode {mode:04o}), so it is not used as the store's lock: "
            f"anyone who can open it can hold it. Fix: chmod 600 {path}.")
    if mode & 0o077:
        raise InsecureTokenFileError(
            f"{path} can be read or written by others (mode {mode:04o}), so its tokens are not used: anyone who "
            f"read them can use your login. Fix: chmod 600 {path}, then sign in again (the tokens may have "
            f"been copied: signing in again replaces them).")


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform == "win32":
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # the first byte; a lock past the end of a file is allowed
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError on POSIX, PermissionError on Windows: held by someone else
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _fsync_directory(folder: Path) -> None:
    if sys.platform == "win32":
        return  # a directory cannot be opened for fsync on Windows; NTFS journals the rename
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_folder() -> Path:
    """A folder only this user can write, for the keyring store's lock file, found from the home folder
    alone, so that a cron job and a login shell (with or without $XDG_RUNTIME_DIR) find the same one."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path.home() / ".cache"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    return base


def _safe_file_name(name: str) -> str:
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in name) or "tokens"

"""Checks for notebook 10, putting it together: a token file that stays private, whole and shared.

Exercise 1, `save(path, key, state)`: one JSON file holds one entry per sign-in. A right `save`
- creates the file readable by its owner only, from its first byte (mode 0600 through os.open or
  tempfile.mkstemp, whatever the umask; a chmod after writing leaves a window);
- replaces it atomically: a temp file in the same folder, flushed and fsync'ed, then os.replace,
  so that a crash mid-write leaves the old file whole (a write in place leaves half a file, and a
  temp file on another file system cannot be renamed over it);
- holds the lock file `<path>.lock` while it reads, changes and writes the entries, so that two
  processes that save at once do not lose each other's entry.
The check runs it with the umask at 022, with the disk "filling up" half-way through a write, with
the lock held by someone else, and from eight threads at once. Everything happens in a temporary
folder of the check's own; nothing is sent anywhere.

Exercise 2, `load(path, key)`: the entry, None when there is none yet, and a refusal (PermissionError)
for a file that group or others can read: a token file anyone can read is a leaked sign-in.

POSIX only for the file modes: on Windows a file's privacy is its ACL (a file in your user profile
folder is yours), and os.chmod only sets or clears the read-only flag, so those parts are skipped.
"""
from __future__ import annotations

import builtins
import contextlib
import errno
import io
import json
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from helpers.checks.feedback import Outcome, not_a_function, not_yet, placeholder, raised, right, run, unless_stub

__all__ = ["token_file_save", "token_file_load", "lock_file", "holding_lock"]

POSIX = os.name == "posix"
LOCK_SUFFIX = ".lock"
ROOM = 64  # characters a "filling" disk takes before it is full: less than any entry the check saves
WAIT = 0.05  # seconds the check waits to see that `save` is held up by a lock someone else holds


def lock_file(path: Path) -> Path:
    """Where the lock of the token file `path` lives: beside it, `<name>.lock`."""
    return path.with_name(path.name + LOCK_SUFFIX)


@contextlib.contextmanager
def holding_lock(path: Path) -> Iterator[None]:
    """Hold the lock of token file `path` exclusively, as another process would (flock on POSIX,
    msvcrt.locking on Windows). Waits for it: the lock goes away with the process that holds it."""
    descriptor = os.open(lock_file(path), os.O_RDWR | os.O_CREAT, 0o600)  # private, as the store makes it
    with os.fdopen(descriptor, "r+b") as handle:
        if POSIX:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        else:  # pragma: no cover (Windows)
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        try:
            yield
        finally:
            if POSIX:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            else:  # pragma: no cover (Windows)
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)


def _state(name: str, size: int = 0) -> dict:
    """A made-up token state (not a real token: nothing to leak), `size` characters longer if asked."""
    return {"access_token": f"made-up-access-{name}" + "a" * size, "refresh_token": f"made-up-refresh-{name}",
            "expires_at": 1_900_000_000, "scope": "profile notes:read", "token_type": "Bearer"}


def _write_entries(path: Path, entries: dict) -> str:
    """The check's own token file, 0600, as a right `save` would leave it; returns its text."""
    text = json.dumps(entries)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    return text


def _entries(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


# -- watching a save: what it opened, wrote, synced and renamed -----------------------------------

class _Watch:
    """Records, for the calling thread only, how `save` writes: each file opened for writing, whether it
    was private when data went in, fsync after flush, and the rename onto the token file. With `room`
    set, the disk fills up after that many characters: the next write raises ENOSPC, as a full disk does.
    """

    def __init__(self, room: int | None = None) -> None:
        self.thread = threading.get_ident()
        self.room = room
        self.written = 0
        self.opened: list[str] = []  # paths opened for writing, in order
        self.readable_while_writing: list[str] = []
        self.unflushed_fsync = False
        self.fsyncs: list[int] = []  # the write count at each fsync
        self.writes_at_fsync_or_replace: list[tuple[str, int]] = []
        self.renames: list[tuple[str, str, int]] = []  # (source, target, fsyncs before it)
        # per file (st_dev, st_ino), not per name: which file each write, fsync and rename was about
        self.events = 0
        self.last_write: dict[tuple[int, int], int] = {}  # file -> the event number of its last write
        self.synced: dict[tuple[int, int], int] = {}  # file -> the event number of its last fsync
        self.renamed_files: list[tuple[int, int] | None] = []  # the file each rename moved, in order
        self.synced_folders: list[tuple[tuple[int, int], int]] = []  # (folder, renames before its fsync)
        self.umask_changed = False
        self.full = False
        self._files: dict[int, "_Writer"] = {}

    def mine(self) -> bool:
        return threading.get_ident() == self.thread

    def wrote(self, fd: int, path: str, count: int) -> None:
        self.events += 1
        file = _identity(fd)
        if file is not None:
            self.last_write[file] = self.events
        if POSIX:
            try:
                if os.fstat(fd).st_mode & 0o077:
                    self.readable_while_writing.append(path)
            except OSError:
                pass
        if self.room is not None and self.written + count > self.room:
            self.full = True
            raise OSError(errno.ENOSPC, "No space left on device (the check filled the disk half-way)")
        self.written += count


def _identity(file: int | str) -> tuple[int, int] | None:
    """The file a descriptor or a name is (st_dev, st_ino): the same whatever name or descriptor reaches it."""
    try:
        info = os.fstat(file) if isinstance(file, int) else os.stat(file, follow_symlinks=False)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


class _Writer:
    """A file opened for writing by the watched `save`: passes everything on, and tells the watch."""

    def __init__(self, watch: _Watch, file: Any, path: str) -> None:
        self._watch, self._file, self._path, self.dirty = watch, file, path, False
        watch._files[file.fileno()] = self

    def write(self, data):
        self._watch.wrote(self._file.fileno(), self._path, len(data))
        self.dirty = True
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()
        self.dirty = False

    def close(self) -> None:
        self.dirty = False  # close() flushes
        self._file.close()

    def __getattr__(self, name: str):
        return getattr(self._file, name)

    def __enter__(self) -> "_Writer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


WRITE_MODES = set("wax+")


@contextlib.contextmanager
def _watched(watch: _Watch) -> Iterator[_Watch]:
    """Put the watch on open() (so io.open, Path.open, os.fdopen and tempfile's files too), os.write,
    os.fsync, os.replace, os.rename, shutil.move and os.umask, for the duration, then put them back."""
    real = {"open": builtins.open, "io_open": io.open, "write": os.write, "fsync": os.fsync,
            "replace": os.replace, "rename": os.rename, "move": shutil.move, "umask": os.umask}

    def watched_open(file, mode="r", *args, **kwargs):
        opened = real["open"](file, mode, *args, **kwargs)
        if not watch.mine() or not WRITE_MODES & set(mode):
            return opened
        path = os.fspath(file) if not isinstance(file, int) else f"<descriptor {file}>"
        watch.opened.append(str(path))
        return _Writer(watch, opened, str(path))

    def watched_write(fd, data):
        if watch.mine() and fd > 2:
            watch.wrote(fd, f"<descriptor {fd}>", len(data))
        return real["write"](fd, data)

    def watched_fsync(fd):
        if watch.mine():
            number = fd if isinstance(fd, int) else fd.fileno()
            writer = watch._files.get(number)
            if writer is not None and writer.dirty:
                watch.unflushed_fsync = True
            if POSIX and stat.S_ISDIR(os.fstat(number).st_mode):
                watch.synced_folders.append((_identity(number), len(watch.renames)))
            else:
                watch.fsyncs.append(watch.written)
                watch.events += 1
                watch.synced[_identity(number)] = watch.events
        return real["fsync"](fd)

    def renaming(name):
        def watched(source, target, *args, **kwargs):
            if watch.mine():
                watch.renames.append((os.fspath(source), os.fspath(target), len(watch.fsyncs)))
                watch.renamed_files.append(_identity(os.fspath(source)))
            return real[name](source, target, *args, **kwargs)
        return watched

    def watched_umask(mask):
        if watch.mine():
            watch.umask_changed = True
        return real["umask"](mask)

    builtins.open = io.open = watched_open
    os.write, os.fsync, os.umask = watched_write, watched_fsync, watched_umask
    os.replace, os.rename, shutil.move = renaming("replace"), renaming("rename"), renaming("move")
    try:
        yield watch
    finally:
        builtins.open, io.open = real["open"], real["io_open"]
        os.write, os.fsync, os.umask = real["write"], real["fsync"], real["umask"]
        os.replace, os.rename, shutil.move = real["replace"], real["rename"], real["move"]


# -- exercise 1 -------------------------------------------------------------------------------

SAVE_CALL = "checks.token_file_save(save)"


def token_file_save(function: Any) -> None:
    """10, exercise 1: `save(path, key, state)` keeps one entry per key in a private, whole, shared file."""
    function = unless_stub(function)
    if placeholder(function) or not_a_function(function, SAVE_CALL):
        return
    with tempfile.TemporaryDirectory(prefix="capstone-") as folder:
        problem = _save_problem(function, Path(folder))
    if problem:
        return not_yet(problem)
    privacy = "private from its first byte (0600, whatever the umask), " if POSIX else ""
    right(f"the token file is {privacy}replaced whole (temp file beside it, fsync, os.replace, fsync of the folder), "
          f"and saves wait for the lock: a crash or a second process cannot cost a sign-in.")


def _save_problem(save: Callable, folder: Path) -> str:
    """What is wrong with `save`, tried case by case in `folder`; "" if nothing."""
    path = folder / "tokens.json"
    for check in (_first_save, _second_save, _crash_mid_write, _waits_for_the_lock, _eight_threads):
        problem = check(save, path)
        if problem:
            return problem
    return ""


def _call(save: Callable, path: Path, key: str, state: dict, watch: _Watch | None = None, umask: int = 0o022):
    """Run `save(path, key, state)` with the umask at `umask` (POSIX), watched if asked."""
    with _umask(umask) if POSIX else contextlib.nullcontext():
        with _watched(watch) if watch else contextlib.nullcontext():
            return run(save, path, key, state)


def _leftovers(path: Path) -> list[Path]:
    """Fixed temp names a crashed save of another program (or an older version) may have left, 0644."""
    return [path.with_name(path.name + ".tmp"), path.with_name("." + path.name + ".tmp")]


FIXED_NAME = ("your temp file has a fixed name, and a crash had left a file of that name (mode 0644, from the "
              "umask): opening it again keeps its mode and its owner, so the tokens went into a file others "
              "can read (and O_EXCL would fail on it forever). Give the temp file a name of its own: "
              "tempfile.mkstemp(dir=path.parent) makes a new 0600 file with a random name in the same folder.")


def _first_save(save: Callable, path: Path) -> str:
    watch = _Watch()
    leftovers = _leftovers(path)
    for leftover in leftovers:
        leftover.write_text("left by a crash", encoding="utf-8")
        os.chmod(leftover, 0o644)
    try:
        outcome = _call(save, path, "ada", _state("ada"), watch)
    finally:
        planted = {leftover.name for leftover in leftovers}
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
    if isinstance(outcome.error, FileExistsError) or any(
            Path(source).name in planted for source, _, _ in watch.renames):
        return FIXED_NAME
    if outcome.error:
        return raised("the first save (no file yet)", outcome.error, " The first save creates the file.")
    if not path.exists():
        return f"after save(path, 'ada', state) there is no file at path. Write the entries to {path.name}."
    if _entries(path) != {"ada": _state("ada")}:
        return ("after the first save, the file should hold the JSON object {key: state}, here "
                "{'ada': state}; json.load() of it gave something else.")
    return _write_problem(watch, path, "the first save")


def _second_save(save: Callable, path: Path) -> str:
    watch = _Watch()
    outcome = _call(save, path, "grace", _state("grace"), watch)
    if outcome.error:
        return raised("a second key in an existing file", outcome.error)
    entries = _entries(path)
    if not isinstance(entries, dict) or "grace" not in entries:
        return "after save(path, 'grace', state) the file has no entry 'grace'."
    if "ada" not in entries:
        return ("saving 'grace' lost 'ada': one file holds every entry, so read the entries first, "
                "change the one for this key, and write them all back.")
    return _write_problem(watch, path, "a second save")


def _write_problem(watch: _Watch, path: Path, when: str) -> str:
    """Privacy, in-place writes, the rename and fsync, as `watch` saw them in one save."""
    if watch.umask_changed:
        return ("your save calls os.umask(), which changes the umask of the whole process, every thread "
                "included. Leave it alone: create the file with mode 0o600 instead (os.open(..., 0o600) or "
                "tempfile.mkstemp(), which uses 0600).")
    if POSIX and watch.readable_while_writing:
        return ("the tokens went into a file that group and others could read (mode 0644 from the umask). "
                "A chmod afterwards is too late: the file was readable while you wrote. Create it private: "
                "tempfile.mkstemp(dir=path.parent) or os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, "
                "0o600).")
    if POSIX and stat.S_IMODE(path.stat().st_mode) & 0o077:
        mode = oct(stat.S_IMODE(path.stat().st_mode))[2:]
        return (f"after {when} the token file has mode {mode}: group or others can read it. Create it with "
                f"mode 0o600 (os.open(..., 0o600) or tempfile.mkstemp()); never rely on the umask.")
    target = str(path)
    onto = [(source, fsyncs) for source, destination, fsyncs in watch.renames if destination == target]
    if target in watch.opened or not onto:
        return ("you write the token file in place (open(path, 'w') or os.open(path, ...)), which empties it "
                "first: a crash or a full disk mid-write leaves half a file, and the sign-in is lost. Write a "
                "temp file in the same folder, then os.replace(temp, path): a rename is all or nothing.")
    source, fsyncs = onto[-1]
    moved = watch.renamed_files[max(i for i, (_, destination, _) in enumerate(watch.renames)
                                    if destination == target)]
    if Path(source).parent != path.parent and path.parent in Path(source).parents:
        return ("your temp file is in a subfolder of the token file's folder: the rename then changes two "
                "folders, and each would need its own fsync before the new name is safe on disk. Make it "
                "beside the token file, in the same folder: tempfile.mkstemp(dir=path.parent).")
    if Path(source).parent != path.parent:
        return ("your temp file is in another folder (" + ("tempfile's default, " if "capstone-" not in source
                                                             else "") + "maybe another file system): "
                "os.replace() cannot move a file across file systems atomically, and fails or copies. "
                "Make it beside the token file: tempfile.mkstemp(dir=path.parent).")
    if watch.unflushed_fsync:
        return ("you fsync before flush(): Python still held the data in its buffer, so fsync wrote nothing "
                "of it to disk. Call file.flush(), then os.fsync(file.fileno()).")
    if not fsyncs:
        return ("os.replace() came before any os.fsync(): after a power cut the new name can point at an empty "
                "file. Flush and fsync the temp file before you replace.")
    if watch.synced.get(moved, 0) <= watch.last_write.get(moved, 0):
        return ("the file you renamed onto the token file had no os.fsync() after its last write (an fsync "
                "of the empty temp file, or of another file such as the lock, syncs none of the JSON): after "
                "a power cut the new name can point at an empty file. Write, flush, then "
                "os.fsync(file.fileno()) on the temp file itself, then replace.")
    folder = _identity(str(path.parent))
    if POSIX and not any(synced == folder and renames >= len(watch.renames)
                         for synced, renames in watch.synced_folders):
        return ("the new name is not on disk yet: os.replace() changed the folder, and after a power cut the "
                "folder may still hold the old name. After the replace, fsync the folder too, the token "
                "file's own folder (path.parent, not another one): fd = os.open(path.parent, os.O_RDONLY), "
                "os.fsync(fd), os.close(fd) (POSIX).")
    return ""


def _crash_mid_write(save: Callable, path: Path) -> str:
    old = _write_entries(path, {"ada": _state("ada")})
    watch = _Watch(room=ROOM)
    outcome = _call(save, path, "grace", _state("grace", size=4 * ROOM), watch)
    now = path.read_text(encoding="utf-8") if path.exists() else None
    if not watch.full:
        return ("the check could not fill the disk while your save wrote: write with open(), os.fdopen() or "
                "os.write(), so that it can see the writes.")
    if now != old:
        return ("the disk filled up half-way through a save, and the token file is no longer what it was "
                f"({'gone' if now is None else 'half written'}): the sign-in is lost. Write a temp file, and "
                "only os.replace() it onto the token file once it is complete and fsync'ed.")
    if outcome.error is None:
        return ("the disk filled up half-way through your save, and it returned as if all was well. Let the "
                "OSError out: the caller must know that the new tokens were not saved.")
    left = sorted(p.name for p in path.parent.iterdir() if p.name not in (path.name, lock_file(path).name))
    if left:
        return (f"after the failed save a temp file is left behind ({left[0]}), holding half of the tokens. "
                "Remove it when the write fails (try/except BaseException: os.unlink(temp); raise).")
    return ""


def _waits_for_the_lock(save: Callable, path: Path) -> str:
    old = _write_entries(path, {"ada": _state("ada")})
    result: dict[str, Any] = {}

    def held_then_released():
        worker = threading.Thread(target=lambda: result.update(outcome=_plain(save, path)), daemon=True)
        with holding_lock(path):
            worker.start()
            worker.join(WAIT)
            result["during"] = path.read_text(encoding="utf-8") if path.exists() else None
        worker.join(5)
        result["alive"] = worker.is_alive()

    run(held_then_released)
    if result.get("during") != old:
        return (f"another process held {lock_file(path).name}, and your save wrote the file anyway: two "
                "processes saving at once lose one's entry (or a rotated refresh token). Hold "
                "token_lock(path) around the whole read, change and write.")
    if result.get("alive"):
        return "your save was still waiting 5 s after the lock was released: take it, and let it go when done."
    outcome = result.get("outcome")
    if outcome and outcome.error:
        return raised("a save that had to wait for the lock", outcome.error)
    entries = _entries(path)
    if not isinstance(entries, dict) or set(entries) != {"ada", "grace"}:
        return "after waiting for the lock, the save should have kept 'ada' and added 'grace'."
    return ""


def _plain(save: Callable, path: Path) -> Outcome:
    """One save called from a thread, its exception kept: run() captures output for the whole process,
    so it runs once, around the threads, in the calling thread."""
    try:
        return Outcome(save(path, "grace", _state("grace")))
    except Exception as error:  # feedback, not a traceback
        return Outcome(error=error)


def _eight_threads(save: Callable, path: Path) -> str:
    for leftover in path.parent.iterdir():
        leftover.unlink()
    _write_entries(path, {})
    names = [f"user{n}" for n in range(8)]
    start = threading.Barrier(len(names))
    errors: list[BaseException] = []

    def one(name: str) -> None:
        start.wait()
        try:
            save(path, name, _state(name))
        except Exception as error:  # the check reports it
            errors.append(error)

    def eight():
        threads = [threading.Thread(target=one, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)

    run(eight)
    if errors:
        return raised("eight threads saving at once", errors[0])
    entries = _entries(path)
    if not isinstance(entries, dict) or set(entries) != set(names):
        kept = len(entries) if isinstance(entries, dict) else 0
        return (f"eight threads saved eight entries at once, and the file kept {kept}: saves overwrote each "
                "other. Hold token_lock(path) around the read, change and write, and give each save a temp "
                "file of its own (tempfile.mkstemp), not one fixed name.")
    return ""


# -- exercise 2 -------------------------------------------------------------------------------

LOAD_CALL = "checks.token_file_load(load)"


def token_file_load(function: Any) -> None:
    """10, exercise 2: `load(path, key)` gives the entry, None if there is none, and refuses a readable file."""
    function = unless_stub(function)
    if placeholder(function) or not_a_function(function, LOAD_CALL):
        return
    with tempfile.TemporaryDirectory(prefix="capstone-") as folder:
        problem = _load_problem(function, Path(folder) / "tokens.json")
    if problem:
        return not_yet(problem)
    refused = " and refuses a file that group or others can read or write" if POSIX else ""
    right(f"load() finds the entry, says None on a first run{refused}, with the fix in its message.")


def _load_problem(load: Callable, path: Path) -> str:
    outcome = run(load, path, "ada")
    if outcome.error:
        return raised("a first run (no token file yet)", outcome.error,
                      " A missing file is no error: there is nothing saved yet, so return None.")
    if outcome.value is not None:
        return "with no token file yet, load() should return None (nobody has signed in)."
    _write_entries(path, {"ada": _state("ada")})
    outcome = run(load, path, "grace")
    if outcome.error:
        return raised("a key that has no entry", outcome.error, " Return None: that user has not signed in yet.")
    if outcome.value is not None:
        return "for a key with no entry, load() should return None."
    outcome = run(load, path, "ada")
    if outcome.error:
        return raised("a private file (0600) with the entry", outcome.error)
    if outcome.value != _state("ada"):
        return "load(path, 'ada') should return the state saved under 'ada' (the dict, as json.load gives it)."
    if not POSIX:
        return ""
    for mode, who in ((0o644, "readable by everyone"), (0o640, "readable by the file's group"),
                      (0o604, "readable by others"), (0o620, "writable by the file's group"),
                      (0o602, "writable by others")):
        os.chmod(path, mode)
        outcome = run(load, path, "ada")
        if outcome.error is None:
            why = ("the tokens may have been read" if mode & 0o044 else
                   "someone may have planted their own tokens, and you would act as them")
            return (f"the token file had mode {oct(mode)[2:]} ({who}), and load() used it. Refuse it: "
                    "raise PermissionError when stat's mode has any of the 0o077 bits, and say the fix "
                    f"(chmod 600, then sign in again: {why}).")
        if not isinstance(outcome.error, PermissionError):
            return (f"for a file {who}, raise PermissionError (it is about who may use the file), "
                    f"not {type(outcome.error).__name__}.")
        if "600" not in str(outcome.error):
            return "your PermissionError should say the fix: `chmod 600` on the file (and to sign in again)."
    os.chmod(path, 0o600)
    with _mode_changes_after_a_stat_by_name(path, 0o644) as looked:
        outcome = run(load, path, "ada")
    os.chmod(path, 0o600)
    if looked and outcome.error is None:
        return ("load() checked the mode by name (os.stat(path) or Path.stat()), then opened the file: in between, "
                "the file can change (here it became readable by everyone, and load() used it). Open the file "
                "first, then check os.fstat(file.fileno()): the file you read is the file you checked.")
    return ""


@contextlib.contextmanager
def _mode_changes_after_a_stat_by_name(path: Path, mode: int) -> Iterator[list]:
    """While inside, the first os.stat() of `path` by name answers truly, and then the file gets `mode`:
    what another process could do between a check by name and the open (a time-of-check to
    time-of-use race). os.fstat() on an open file is not touched. Yields the names stat() was given."""
    real_stat, looked = os.stat, []

    def stat(target, *args, **kwargs):
        answer = real_stat(target, *args, **kwargs)
        if not looked and not isinstance(target, int) and os.path.abspath(os.fspath(target)) == str(path):
            looked.append(target)
            os.chmod(path, mode)
        return answer

    os.stat = stat
    try:
        yield looked
    finally:
        os.stat = real_stat

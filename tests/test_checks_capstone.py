"""Checks of notebook 10: the right token file passes; each insecure one gets its own "✗" and hint.

The wrong solutions are the ones found in the wild: a file left to the umask (0644), a chmod after
the write, open(path, "w") in place, a temp file in another folder (os.replace across file systems),
no lock, a fixed temp name, a crash swallowed, fsync forgotten or before flush().
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

from conftest import assert_not_yet, assert_right
from helpers import checks

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes and flock are POSIX")


@contextlib.contextmanager
def token_lock(path):
    """As notebook 10 gives it: an exclusive flock on `<path>.lock`, beside the token file."""
    with open(Path(path).with_name(Path(path).name + ".lock"), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read_entries(path):
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except FileNotFoundError:
        return {}


def write_private(path, text, *, flush=True, fsync=True, folder=None, lock=True, fixed_name=False,
                  swallow=False, keep_temp=False, fsync_folder=True):
    """The right way, and, by its options, each way to get it wrong."""
    path = Path(path)
    with token_lock(path) if lock else contextlib.nullcontext():
        entries = read_entries(path)
        entries.update(text)
        if fixed_name:
            temp = str(path) + ".tmp"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        else:
            fd, temp = tempfile.mkstemp(dir=folder or path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(entries, file)
                if flush:
                    file.flush()
                if fsync:
                    os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            if not keep_temp:
                os.unlink(temp)
            if not swallow:
                raise
        if fsync_folder:
            fsync_the_folder(path)


def fsync_the_folder(path):
    """The rename is in the folder: fsync it, so that the new name survives a power cut."""
    fd = os.open(Path(path).parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def right_save(path, key, state):
    write_private(path, {key: state})


def test_right_save(feedback):
    assert_right(feedback(checks.token_file_save, right_save), "0600")


def test_right_save_with_os_open_and_o_excl(feedback):
    """The other right way: os.open with O_CREAT | O_EXCL and 0o600, a name of its own."""
    def save(path, key, state):
        with token_lock(path):
            entries = read_entries(path)
            entries[key] = state
            temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with open(fd, "w", encoding="utf-8") as file:
                    file.write(json.dumps(entries))
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temp, path)
            except BaseException:
                os.unlink(temp)
                raise
            fsync_the_folder(path)

    assert_right(feedback(checks.token_file_save, save))


def test_stub_asks_for_code(feedback):
    def save(path, key, state):
        ...  # your code here

    assert_not_yet(feedback(checks.token_file_save, save), "replace the `...`")


def test_mode_from_the_umask_is_refused(feedback):
    """open() makes 0644 under the usual umask 022: the tokens are readable by every user."""
    def save(path, key, state):
        with token_lock(path):
            entries = read_entries(path)
            entries[key] = state
            temp = path.with_name(path.name + f".{os.getpid()}.new")
            with open(temp, "w", encoding="utf-8") as file:
                json.dump(entries, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)

    assert_not_yet(feedback(checks.token_file_save, save), "could read")


def test_chmod_after_the_write_is_refused(feedback):
    """Private in the end, readable while the tokens went in."""
    def save(path, key, state):
        with token_lock(path):
            entries = read_entries(path)
            entries[key] = state
            temp = path.with_name(path.name + f".{os.getpid()}.new")
            with open(temp, "w", encoding="utf-8") as file:
                json.dump(entries, file)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, path)

    assert_not_yet(feedback(checks.token_file_save, save), "chmod afterwards is too late")


def test_umask_changed_inside_save_is_refused(feedback):
    def save(path, key, state):
        old = os.umask(0o077)
        try:
            right_save(path, key, state)
        finally:
            os.umask(old)

    assert_not_yet(feedback(checks.token_file_save, save), "os.umask()")


def test_write_in_place_is_refused(feedback):
    """os.open(0o600) keeps it private, but open(path, "w") empties the file before the new text is in."""
    def save(path, key, state):
        with token_lock(path):
            entries = read_entries(path)
            entries[key] = state
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8") as file:
                json.dump(entries, file)

    assert_not_yet(feedback(checks.token_file_save, save), "half a file")


def test_write_in_place_by_name_is_refused(feedback):
    def save(path, key, state):
        entries = read_entries(path)
        entries[key] = state
        path.touch(mode=0o600)
        with open(path, "w", encoding="utf-8") as file:
            json.dump(entries, file)

    assert_not_yet(feedback(checks.token_file_save, save), "open(path, 'w')")


def test_temp_file_in_another_folder_is_refused(feedback):
    """tempfile.mkstemp() without dir=: /tmp may be another file system, where os.replace fails."""
    other = tempfile.mkdtemp()
    try:
        assert_not_yet(feedback(checks.token_file_save,
                                lambda path, key, state: write_private(path, {key: state}, folder=other)),
                       "another folder")
    finally:
        for name in os.listdir(other):
            os.unlink(os.path.join(other, name))
        os.rmdir(other)


def test_no_fsync_is_refused(feedback):
    assert_not_yet(feedback(checks.token_file_save,
                            lambda path, key, state: write_private(path, {key: state}, fsync=False)),
                   "before any os.fsync()")


def test_fsync_before_flush_is_refused(feedback):
    assert_not_yet(feedback(checks.token_file_save,
                            lambda path, key, state: write_private(path, {key: state}, flush=False)),
                   "fsync before flush()")


def test_a_crash_swallowed_is_refused(feedback):
    assert_not_yet(feedback(checks.token_file_save,
                            lambda path, key, state: write_private(path, {key: state}, swallow=True)),
                   "Let the OSError out")


def test_a_temp_file_left_after_a_crash_is_refused(feedback):
    assert_not_yet(feedback(checks.token_file_save,
                            lambda path, key, state: write_private(path, {key: state}, keep_temp=True)),
                   "temp file is left behind")


def test_fixed_temp_name_is_refused(feedback):
    """A leftover 0644 tokens.json.tmp keeps its mode when opened again without O_EXCL."""
    text = feedback(checks.token_file_save, lambda path, key, state: write_private(
        path, {key: state}, fixed_name=True))
    assert_not_yet(text, "a name of its own")
    assert "mkstemp(dir=path.parent)" in text


def test_fixed_hidden_temp_name_with_o_excl_is_refused(feedback):
    """O_EXCL on a fixed name is private, but a crash's leftover blocks every later save."""
    def save(path, key, state):
        with token_lock(path):
            entries = read_entries(path)
            entries[key] = state
            temp = path.with_name(f".{path.name}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with open(fd, "w", encoding="utf-8") as file:
                    file.write(json.dumps(entries))
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temp, path)
            except BaseException:
                os.unlink(temp)
                raise
            fsync_the_folder(path)

    assert_not_yet(feedback(checks.token_file_save, save), "a name of its own")


def test_no_fsync_of_the_folder_is_refused(feedback):
    """fsync(2): the file's data is on disk, but its new name is in the folder, which needs its own fsync."""
    text = feedback(checks.token_file_save, lambda path, key, state: write_private(
        path, {key: state}, fsync_folder=False))
    assert_not_yet(text, "fsync the folder")


def test_no_lock_is_refused(feedback):
    """Atomic and private, but a second process saving at the same moment loses an entry."""
    assert_not_yet(feedback(checks.token_file_save,
                            lambda path, key, state: write_private(path, {key: state}, lock=False)),
                   "wrote the file anyway")


def test_a_thread_lock_only_is_refused(feedback):
    """A threading.Lock guards one process: another process's save does not wait for it."""
    import threading

    lock = threading.Lock()

    def save(path, key, state):
        with lock:
            write_private(path, {key: state}, lock=False)

    assert_not_yet(feedback(checks.token_file_save, save), "another process held tokens.json.lock")


def test_overwriting_other_entries_is_refused(feedback):
    def save(path, key, state):
        fd, temp = tempfile.mkstemp(dir=path.parent)
        with token_lock(path), os.fdopen(fd, "w") as file:
            json.dump({key: state}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
        fsync_the_folder(path)

    assert_not_yet(feedback(checks.token_file_save, save), "lost 'ada'")


def test_the_check_leaves_the_umask_and_open_as_they_were(feedback):
    before = os.umask(0o027)
    try:
        feedback(checks.token_file_save, right_save)
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(before)
    import builtins
    import io

    assert builtins.open is io.open and os.replace.__module__ in ("posix", "nt", None)


# -- exercise 2: load ---------------------------------------------------------------------------

def right_load(path, key):
    try:
        with open(path, encoding="utf-8") as file:
            mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
            if mode & 0o077:
                raise PermissionError(f"{path} has mode {mode:o}: others can read the tokens. Run "
                                      f"`chmod 600 {path}`, then sign in again.")
            return json.load(file).get(key)
    except FileNotFoundError:
        return None


def test_right_load(feedback):
    assert_right(feedback(checks.token_file_load, right_load), "None on a first run")


def test_load_without_a_mode_check_is_refused(feedback):
    def load(path, key):
        try:
            return json.loads(Path(path).read_text()).get(key)
        except FileNotFoundError:
            return None

    assert_not_yet(feedback(checks.token_file_load, load), "readable by everyone")


def test_load_that_checks_others_only_is_refused(feedback):
    def load(path, key):
        try:
            if os.stat(path).st_mode & 0o004:
                raise PermissionError("chmod 600 it")
            return json.loads(Path(path).read_text()).get(key)
        except FileNotFoundError:
            return None

    assert_not_yet(feedback(checks.token_file_load, load), "the file's group")


def test_load_that_checks_read_bits_only_is_refused(feedback):
    """Group- or other-writable (0620, 0602): someone could plant their tokens, so refuse it too."""
    def load(path, key):
        try:
            if os.stat(path).st_mode & 0o044:
                raise PermissionError("chmod 600 it")
            return json.loads(Path(path).read_text()).get(key)
        except FileNotFoundError:
            return None

    text = feedback(checks.token_file_load, load)
    assert_not_yet(text, "mode 620 (writable by the file's group)")
    assert "planted" in text


def test_load_that_misses_other_writable_is_refused(feedback):
    def load(path, key):
        try:
            if os.stat(path).st_mode & 0o074:
                raise PermissionError("chmod 600 it")
            return json.loads(Path(path).read_text()).get(key)
        except FileNotFoundError:
            return None

    assert_not_yet(feedback(checks.token_file_load, load), "mode 602 (writable by others)")



def test_load_that_checks_by_name_then_opens_is_refused(feedback):
    """os.stat(path), then open(path): the file may change in between (the notebook's solution says so)."""
    def load(path, key):
        try:
            if os.stat(path).st_mode & 0o077:
                raise PermissionError("chmod 600 it")
            with open(path, encoding="utf-8") as file:
                return json.load(file).get(key)
        except FileNotFoundError:
            return None

    assert_not_yet(feedback(checks.token_file_load, load), "os.fstat(file.fileno())")


def test_load_that_checks_by_name_and_then_the_open_file_is_right(feedback):
    """A look by name first (here Path.exists) is harmless when the open file is checked too."""
    def load(path, key):
        if not Path(path).exists():
            return None
        return right_load(path, key)

    assert_right(feedback(checks.token_file_load, load), "None on a first run")

def test_load_that_raises_on_a_first_run_is_refused(feedback):
    def load(path, key):
        return json.loads(Path(path).read_text()).get(key)

    assert_not_yet(feedback(checks.token_file_load, load), "return None")


def test_load_refusing_with_another_error_is_refused(feedback):
    def load(path, key):
        if Path(path).exists() and os.stat(path).st_mode & 0o077:
            raise ValueError("chmod 600")
        return right_load(path, key)

    assert_not_yet(feedback(checks.token_file_load, load), "raise PermissionError")


def test_load_refusing_without_the_fix_is_refused(feedback):
    def load(path, key):
        if Path(path).exists() and os.stat(path).st_mode & 0o077:
            raise PermissionError("bad mode")
        return right_load(path, key)

    assert_not_yet(feedback(checks.token_file_load, load), "say the fix")


def notebook_solutions():
    """The save and load of notebook 10's two solutions, as a learner would paste them."""
    import re
    import types
    notebook = json.loads((Path(__file__).parent.parent / "notebooks" / "10-putting-it-together.ipynb")
                          .read_text(encoding="utf-8"))
    namespace = {"os": os, "tempfile": tempfile, "token_lock": token_lock,
                 "checks": types.SimpleNamespace(token_file_save=lambda f: None, token_file_load=lambda f: None)}
    for cell in notebook["cells"]:
        found = re.search(r"<details><summary>Solution</summary>\s*```python\n(.*?)```", "".join(cell["source"]), re.S)
        if found:
            exec(found.group(1), namespace)
    return namespace["save"], namespace["load"]


def test_the_notebooks_solutions_pass(feedback):
    save, load = notebook_solutions()
    assert_right(feedback(checks.token_file_save, save), "fsync of the folder")
    assert_right(feedback(checks.token_file_load, load), "read or write")


# -- fsyncs that sync nothing (second-pass review of issue 17) -----------------------------------

def save_syncing(path, key, state, *, temp_sync="after", folder_sync="parent", windows_guard=False):
    """The right save, except for which file and which folder get the fsync."""
    path = Path(path)
    lock_path = path.with_name(path.name + ".lock")
    with token_lock(path):
        entries = read_entries(path)
        entries[key] = state
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                if temp_sync == "before":
                    os.fsync(file.fileno())  # the empty file: the JSON comes after
                json.dump(entries, file)
                file.flush()
                if temp_sync == "after":
                    os.fsync(file.fileno())
            if temp_sync == "lock":
                with open(lock_path, "a+b") as lock_file:
                    os.fsync(lock_file.fileno())  # a file, but not the one renamed
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
        if windows_guard:
            if os.name == "posix":
                fsync_the_folder(path)
        else:
            folder = path.parent if folder_sync == "parent" else "/"
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def test_the_right_save_with_the_folder_fsync_guarded_for_windows(feedback):
    """os.open on a folder raises PermissionError on Windows: `if os.name == "posix":` is right."""
    assert_right(feedback(checks.token_file_save,
                          lambda path, key, state: save_syncing(path, key, state, windows_guard=True)))


def test_an_fsync_of_the_empty_temp_file_before_the_write_is_refused(feedback):
    assert_not_yet(feedback(checks.token_file_save,
                            lambda path, key, state: save_syncing(path, key, state, temp_sync="before")),
                   "after its last write")


def test_an_fsync_of_the_lock_file_instead_of_the_temp_file_is_refused(feedback):
    assert_not_yet(feedback(checks.token_file_save,
                            lambda path, key, state: save_syncing(path, key, state, temp_sync="lock")),
                   "after its last write")


def test_a_folder_fsync_of_another_folder_than_the_token_files_is_refused(feedback):
    assert_not_yet(feedback(checks.token_file_save,
                            lambda path, key, state: save_syncing(path, key, state, folder_sync="root")),
                   "fsync the folder")


def test_a_temp_file_in_a_subfolder_gets_its_own_hint_not_another_file_system(feedback):
    def save(path, key, state):
        sub = Path(path).parent / ".tmp"
        sub.mkdir(mode=0o700, exist_ok=True)
        write_private(path, {key: state}, folder=sub)

    message = feedback(checks.token_file_save, save)
    assert_not_yet(message, "subfolder")
    assert "file system" not in message

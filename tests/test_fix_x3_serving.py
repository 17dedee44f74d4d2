"""Review RV3 of the loopback server's CA files: a collected handle stops its server before its CA folder goes,
and a kernel killed before its cleanup leaves a folder that the next HTTPS practice server deletes (never the
folder of a process that is still running)."""
from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers import serve_practice_api
from helpers.serving import tls

ROOT = Path(__file__).resolve().parent.parent
posix_only = pytest.mark.skipif(os.name != "posix", reason="the sweep needs a harmless 'is this pid alive' (POSIX)")


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("use_tls", [True, False], ids=["https", "http"])
def test_a_collected_handle_stops_its_server_then_removes_its_ca_folder(use_tls):
    api = serve_practice_api(tls=use_tls)
    port, folder = api.port, (Path(api.ca_bundle).parent if use_tls else None)
    del api
    gc.collect()
    assert not [thread for thread in threading.enumerate() if thread.name == f"practice-api:{port}"]
    assert _refused(port)
    if folder is not None:
        assert not folder.exists()


def test_stop_still_stops_and_removes_once():
    api = serve_practice_api(tls=True)
    folder = Path(api.ca_bundle).parent
    api.stop()
    api.stop()
    assert not folder.exists() and _refused(api.port)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@posix_only
def test_folders_are_named_with_the_pid_of_their_process():
    pki = tls.make_local_pki()
    try:
        assert pki.folder.name.startswith(f"practice-api-tls-{os.getpid()}-")
    finally:
        import shutil
        shutil.rmtree(pki.folder)


@posix_only
def test_the_sweep_removes_only_folders_of_processes_that_are_gone(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dead = tmp_path / f"practice-api-tls-{_dead_pid()}-abc"
        alive = tmp_path / f"practice-api-tls-{sleeper.pid}-abc"
        mine = tmp_path / f"practice-api-tls-{os.getpid()}-abc"
        unnamed = tmp_path / "practice-api-tls-abc"  # an older folder without a pid: whose it is, nobody knows
        other = tmp_path / f"something-else-{_dead_pid()}-abc"
        for folder in (dead, alive, mine, unnamed, other):
            folder.mkdir()
            (folder / "client-key.pem").write_text("key")
        assert tls.remove_stale_folders(tmp_path) == [dead]
        assert not dead.exists()
        assert all(folder.exists() for folder in (alive, mine, unnamed, other))
    finally:
        sleeper.kill()
        sleeper.wait()


@posix_only
def test_a_killed_kernel_leaves_a_folder_that_the_next_https_server_deletes(tmp_path):
    code = ("import os, signal\nfrom helpers import serve_practice_api\napi = serve_practice_api(tls=True)\n"
            "print(os.path.dirname(api.ca_bundle), flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    assert killed.returncode == -9
    left = Path(killed.stdout.strip())
    assert left.parent == tmp_path and (left / "client-key.pem").exists()  # SIGKILL: no cleanup ran
    code = "from helpers import serve_practice_api\nserve_practice_api(tls=True).stop()\n"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60,
                   env={**os.environ, "TMPDIR": str(tmp_path)})
    assert not left.exists()
    assert not list(tmp_path.iterdir())

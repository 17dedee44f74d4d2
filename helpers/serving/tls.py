"""A local certificate authority for HTTPS and client certificates on loopback. DEMO ONLY.

`trustme` makes a throw-away CA, a server certificate for 127.0.0.1 and localhost, and a
client certificate for mutual TLS. Nothing here is trusted by your system: a client must be
told to trust this CA (`verify=ca_bundle`), which is the lesson of notebook 06.

Each folder is named with the pid of the process that made it (practice-api-tls-<pid>-...). A server
deletes its folder when it stops or the interpreter exits; a kernel killed with SIGKILL never gets
there, so the next new folder first deletes those whose process is gone.
"""
from __future__ import annotations

import os
import re
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme

from helpers.practice_api import demo

CLIENT_NAME = "ada-laptop"
FOLDER_PREFIX = "practice-api-tls-"
_PID_FOLDER = re.compile(rf"{re.escape(FOLDER_PREFIX)}([0-9]{{1,10}})-")


@dataclass(frozen=True)
class LocalPKI:
    """Where the PEM files are. `ca_bundle` goes to `verify=`, `client_cert` to `cert=`."""

    folder: Path
    ca_bundle: Path
    client_cert: tuple[Path, Path]  # (certificate chain, private key), as requests' cert= takes it
    server_context: ssl.SSLContext


def make_local_pki(folder: Path | None = None) -> LocalPKI:
    """Create a CA, a server certificate and a client certificate; write the PEMs to `folder`."""
    if not folder:
        remove_stale_folders()
        folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Practice API demo CA")
    server = ca.issue_cert("127.0.0.1", "localhost")
    # Its e-mail name is what the demo client reports-mtls registered (tls_client_auth, RFC 8705 §2.1.2).
    client = ca.issue_cert(demo.CLIENT_CERTIFICATE_EMAIL, common_name=CLIENT_NAME)

    ca_bundle = folder / "practice-ca.pem"
    ca.cert_pem.write_to_path(str(ca_bundle))
    client_chain, client_key = folder / "client-cert.pem", folder / "client-key.pem"
    client_chain.write_bytes(b"".join(blob.bytes() for blob in client.cert_chain_pems))
    client.private_key_pem.write_to_path(str(client_key))

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.configure_cert(context)
    ca.configure_trust(context)  # client certificates must come from this CA...
    context.verify_mode = ssl.CERT_OPTIONAL  # ...but only /mtls/whoami insists on one
    return LocalPKI(folder, ca_bundle, (client_chain, client_key), context)


def remove_stale_folders(parent: Path | str | None = None) -> list[Path]:
    """Delete the CA folders, in `parent` (the temporary folder), of processes that no longer run; return them.

    Only folders named practice-api-tls-<pid>-..., owned by this user, whose pid is not a running
    process: never the folder of another live kernel. A reused pid keeps its folder, on the safe side.
    POSIX only: Windows has no harmless "is this pid alive?" in os (os.kill ends the process there).
    """
    if os.name != "posix":
        return []
    removed = []
    for entry in sorted(Path(parent or tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*")):
        match = _PID_FOLDER.match(entry.name)
        try:
            mine = entry.is_dir() and not entry.is_symlink() and entry.stat().st_uid == os.getuid()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if match and mine and not _running(int(match[1])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _running(pid: int) -> bool:
    """Whether a process `pid` exists: signal 0 checks without sending anything (POSIX)."""
    if pid in (0, os.getpid()):
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process; a pid too large for the system cannot be one
        return False
    except OSError:  # PermissionError: another user's process, which is running
        return True
    return True

"""A local certificate authority for HTTPS and client certificates on loopback. DEMO ONLY.

`trustme` makes a throw-away CA, a server certificate for 127.0.0.1 and localhost, and a
client certificate for mutual TLS. Nothing here is trusted by your system: a client must be
told to trust this CA (`verify=ca_bundle`), which is the lesson of notebook 06.
"""
from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme

CLIENT_NAME = "ada-laptop"


@dataclass(frozen=True)
class LocalPKI:
    """Where the PEM files are. `ca_bundle` goes to `verify=`, `client_cert` to `cert=`."""

    folder: Path
    ca_bundle: Path
    client_cert: tuple[Path, Path]  # (certificate chain, private key), as requests' cert= takes it
    server_context: ssl.SSLContext


def make_local_pki(folder: Path | None = None) -> LocalPKI:
    """Create a CA, a server certificate and a client certificate; write the PEMs to `folder`."""
    folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="practice-api-tls-"))
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Practice API demo CA")
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert(f"{CLIENT_NAME}@practice.test", common_name=CLIENT_NAME)

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

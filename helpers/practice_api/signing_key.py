"""The practice API's token signing key: an RSA key pair, fixed and public. DEMO ONLY.

A real authorization server keeps its private key in a key vault or HSM and rotates it;
it never ships in source code. This one is published so that the series runs offline and
its tests are repeatable. Anyone can sign tokens with it, which is fine for a practice API.
"""
from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

KEY_ID = "practice-2026"  # the `kid` header names this key in /.well-known/jwks.json

PRIVATE_KEY_PEM = b"""\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC61HsdcoGEcWVr
d+wkqknYp2ync2EI5Akj+9bdV8ze7f7nbnImuKIQPN3oc1Px2ATHB5a15S2ynxDd
hHoZ4pPeGXliDWKgBlUK/oLrZZ+voKDEfKIUzqyplzB4+hJvvr1SddjR5L05vBxW
gg+3YdNWzU7YLtjfM9ukO12d1nh7D99pDcxj5oNRQOPVcGOASlh/IS9ke8xLb+AZ
xGl5VD3tASKbQnZpFUt+8M6RBWyGriTPaxgRrLUotDDa10o1mekY9yE6nIuseYn8
xh676oFDtLLwz5X6nk6IXpujWAVEKAdVDCclhXjA8Gx/J057JUya3hel/TC72LQw
jtaDukE9AgMBAAECggEAIePJMV5EADJRo1ztiPkazCISo41aXLKAtfZI033Ju+aQ
BosSSdPUEf34guHoqEX3F+NYg0Y/M9eGx6fwPiHLkM4uJosnCMAdTRE9zlVw0frh
LsMs43lZ+KlkMY2rKnn+/aZC3lAPwxlMSqTtFOa531T+qFhXHqXZgcEDCk6NLEU0
yPIZlfByk2bZ61Ee7oFgmVAtYD27Zoj1rY4dut8zthR7HOdwuNUZ5VBBhuCeuJl3
i8aHCCNrOT1QzyQ1MBDSJKp1K4aFdNIcEI7nHh8ExRJTz6c9GIwOkz2nLp3LqKmo
ThrtepXbrXnbCrl7ef/+/W10zBXGKcqW5aQtuSnUAQKBgQD5iLfY9Yf+i6/dt4lq
ZGZFNTvpqQ3MWT2Tog0Gnhi3uJDkHi4xm9AIbfJHm4VFl9LoCcViz/gj9twLcr24
3ws7f79nlZzMONQwDmAu6No4QBGnRX2VVYdX8dmpt0Wz6SKPkWevrrJbLED4Kv1r
XiUNKkdXBGnMKAvfl7KipEaVkQKBgQC/q9DmgntHA7oVOvOALiU25Dyk0ZYPtBVw
KRPTrMjR5FOe7rm0FdhTYWZvCA9dLFq3qcfCCKEzNGq1KPB5IK2j1T4PTvRbScrj
WVEZPATaU2thw4ucuvGZOvNSIbbKf23YalWo9eQ1SGu9RkjDVvuTOID/emn/okFF
8uS+cFgq7QKBgBc9vKHgfIIg0Ih+B7Z5E21uv93LeRWHWkzd0wjCwNqbviMBDJxi
PsYKN36j5Y3Nzj7+afwCEsKGw4ftb+5AF/O6ukETlj8PK/Qt4pd76JdEoGBMAJ5g
EPMH+5XrE/rlw+pLSLT8OHB1dremiWPuqNTJE0vvhUsWj8SLhH/RfSGBAoGBAISh
uk6oH/JGK/Ag+PrL88iGK0jKFxMKxIL2idfCCrzjSNID09FABI++KInQhAEvfh71
h1tHaXTrYqO1jqHi8QUbvHQPaJv69kBYP/w8QgdqDjZ6gBOWcTRdTJ6a4chCYZqO
CnR+osoUMSmqhxNVD4USZoFjDhJtDsn+iDcXuosJAoGBAMm/6XTlE1zbGuy+zEbj
4+KB5HbkuM2qIqBZ71ZkPcwS9X5jGfOcn9Idn8kdxAikBo7Jo8wLYa7RF2IJ4X1Z
UwlHHN5p237XATJsWAbG1Qy7qb3XpRE7RHRi4Y5P51sIXvJnHcLX6zCUIIi5SS41
Oc8hj/G4kVtbLr1zyo3B/DGD
-----END PRIVATE KEY-----
"""


@functools.lru_cache(maxsize=1)
def private_key() -> RSAPrivateKey:
    """The parsed key, loaded once per process and shared by every practice API in it.

    By default, loading a private key checks that its RSA numbers are consistent, which takes
    about 60 ms. This key is a constant that tests/test_tokens.py loads *with* that check, so the
    practice API skips it here to keep every notebook's first login fast. Never skip the check
    for a key you did not make and test yourself.
    """
    return serialization.load_pem_private_key(PRIVATE_KEY_PEM, password=None, unsafe_skip_rsa_key_validation=True)

"""The practice API's token signing keys: RSA key pairs, fixed and public. DEMO ONLY.

A real authorization server keeps its private keys in a key vault or HSM and rotates them;
they never ship in source code. These are published so that the series runs offline and
its tests are repeatable. Anyone can sign tokens with them, which is fine for a practice API.
The first signs every token until a rotation brings in the next (`TokenService.publish_signing_key`,
then `sign_with`).
"""
from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

KEY_ID = "practice-2026"  # the `kid` header names this key in /.well-known/jwks.json
# The key a rotation brings in (`api.publish_signing_key()`, notebook 08): shipped, like the first, because
# generating an RSA key takes a noticeable fraction of a second.
NEXT_KEY_ID = "practice-2027"

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

NEXT_PRIVATE_KEY_PEM = b"""\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDGJWIS86DiPIMu
xAWQ4RwBh+WqgSNE3fZB8TfPV1TlzxITkiy87Mqptb2ZMWrSkeSmPCwNfUp5w8N4
LX7xO6WyJThW8C6XDJs4Boe8+oi2KAOzJn5xIVEE6o7urM1jcuCavLToJ+iOZWa5
0Xgz3xOlyD+L7ghXzRp6u/Vt5Uhw3yZH4M+CjLH6zFiDYHfKMlgzd6loLiDhj2Hi
jZkgpa4XDaOyM0Q6qiYmalDRYHSYMeDuQVvuo2WDJFn4HA/vWJroneeQxMzM5JO5
5EJf0tcLQD3A0rVTzX7TzqerV5tN6HdOBF1TiZvUOPP/uw/SQXBkW/aZWQux8LeE
qP2BN1RlAgMBAAECggEAAIzeBttyWO5+FsUolsxpPX/ZHW4aYPiU1H4M/6BodfLr
Q+6l/ShTL8F3c1N1znvlPKjyHl94s3ndsxm9PoJB5YrA60zjdDvuumsaOWYgtxDJ
Ydf7hejnxrG4D+We9GW/Re68OeDSfoK9lEqGoO4/qbgypPrWPxgsuKaI+fMnDlkv
CcoVVagfI+OFqIfM/zFKoMRZ/YZIOkPMsmKIQNscosSYeHMfnZvivqMXgR6Lb/2I
BOZcH291RjeKH3/LrFbYEsueqSTVU3Nm74Qyp8Nnwr8CFTOAcLtDvRWbG+u8OSQB
ihQmnyo5JEr8DlFR5aY8BRUO+Yb/90UDntcC81LAyQKBgQD73NYPAM7Fis2/2RIW
mPXnK8TBHhieJgEX6Ylo5IXoipNCMQhiUflujJba4dhz4txR9kbm4MxRHkF8a5Y0
kXMYNDNsaK8djLHAXGB2iTQmBAI5yh6x+8Ah2e5l65rKAOryEtnUlx7ir9lwyH6F
tH45h9s7RPWE1bURiZXBtIbb1wKBgQDJZqa1nqN75Td/RcrTIsO6FzM/rCmNN0w7
pbSFfbhmEcdoeUyMe61oGKZAMCpiatQjdgnl3psBKKofmrQIMChyVTL7fTEn0XXM
cm0MmKT8xXUc/On3w15IyvlNqtuPXYwJVOuopLkPn/m/Ri4r6vCwyhtge88kBQ1i
q2q8vDoqIwKBgDo0/VuWSjMpMwfFeQKz8xCr8trWw8W47sPB+zm8pp3peMLxZgii
/UxpPWv0ifuuUFC45AXzqgSNQ4EntB0OCFVtqvzA7Medfm8AamK6rsyiXIlShumH
Tw4Dua7gVnOc5q9vX9xb2I13Kn+ANo1b+1f8Z9Q4ya0bXq9g5rVPrWMdAoGAIlw2
AvReteuETV1t3hmnRN9iafGIYURW6DI8Gy44wIk1+RgAvFL5YbIa4waUpJfPO4GO
7L3OuiLi62NsZZ05uU/Z09gnA8ETlN7MxgJg25MgiOKJVDDrrAWdBOgqb0opcwoe
7nWz8Pt9E2n4xJtflvnUM+DLlTybbQMLwclnLvsCgYEA8Bn4eKzJtNVBjxYRcCzd
GsVI6j4z6hQ5m/LupCRdDb9sBChQuBlgvfNfCwLC7jI7dADt+KPUEtH/UfW/vTGq
wwgif37FcyzGvK3Ty531Q28EYlf+pjF98fxgwAUS+1tWl6iBVT6eAXkb6yP1hx5w
Sw1kSp7jLHzoczm9DMe8WVo=
-----END PRIVATE KEY-----
"""

PEMS = {KEY_ID: PRIVATE_KEY_PEM, NEXT_KEY_ID: NEXT_PRIVATE_KEY_PEM}  # every demo key, in the order of rotation


@functools.lru_cache(maxsize=None)
def private_key(kid: str = KEY_ID) -> RSAPrivateKey:
    """The parsed key named `kid`, loaded once per process and shared by every practice API in it.

    By default, loading a private key checks that its RSA numbers are consistent, which takes
    about 60 ms. These keys are constants that tests/test_tokens.py and tests/test_oidc_provider.py load
    *with* that check, so the practice API skips it here to keep every notebook's first login fast.
    Never skip the check
    for a key you did not make and test yourself.
    """
    return serialization.load_pem_private_key(PEMS[kid], password=None, unsafe_skip_rsa_key_validation=True)

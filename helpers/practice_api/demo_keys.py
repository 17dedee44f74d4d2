"""Demo key pairs for machine-to-machine authentication (notebook 09): public, and DEMO ONLY.

A client that authenticates with a private key (`private_key_jwt`, RFC 7523 §2.2) or a service
account that signs its own grant (RFC 7523 §2.1) keeps its private key to itself, and the
authorization server stores only the public half. Here both halves are published, as every demo
secret of the practice API is: the series runs offline and its outputs repeat. The keys are
shipped, not generated at run time (RSA generation takes a noticeable fraction of a second).

- `REPORTS_SIGNER_*`: the EC P-256 key (ES256) of the confidential client `reports-signer`;
- `SERVICE_ACCOUNT_KEY_FILE`: a service-account key file in the shape Google Cloud issues (RSA,
  RS256), for the JWT bearer grant;
- `DPOP_PRIVATE_KEY`, `OTHER_PRIVATE_KEY`: EC P-256 keys nobody registered, for DPoP proofs
  (RFC 9449) and for "signed by the wrong key" demonstrations.

Only strings live here: nothing is parsed until a key is used, so importing this module is free.
"""
from __future__ import annotations

# -- reports-signer: private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9) -------------------

REPORTS_SIGNER_CLIENT_ID = "reports-signer"
REPORTS_SIGNER_KEY_ID = "reports-signer-2026"
REPORTS_SIGNER_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNOdvh2+G/qgBwM8f
pmQwWCHT+nMh2IAOCLGNgo0A5ZihRANCAASvLqs3M25xF/J48zxLTvi3P2cEmg+m
KvabEw8zUdThnEVyunY/euoYJ7ErbMHfC7YbuzyarIq3c2Tp/aLPQxsy
-----END PRIVATE KEY-----
"""
# What the client registered (RFC 7591 §2 `jwks`): the public half only, named by its kid.
REPORTS_SIGNER_JWKS: dict[str, list[dict[str, str]]] = {"keys": [{
    "kty": "EC", "crv": "P-256", "x": "ry6rNzNucRfyePM8S074tz9nBJoPpir2mxMPM1HU4Zw",
    "y": "RXK6dj966hgnsStswd8Lthu7PJqsirdzZOn9os9DGzI", "kid": REPORTS_SIGNER_KEY_ID, "use": "sig",
    "alg": "ES256"}]}

# -- a service account for the JWT bearer grant (RFC 7523 §2.1) ------------------------------------

SERVICE_ACCOUNT_EMAIL = "reports-robot@practice-project.iam.practice.test"
SERVICE_ACCOUNT_KEY_ID = "5f1c0e9a7b3d4c2e8f6a1b0c9d8e7f6a5b4c3d2e"
SERVICE_ACCOUNT_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDfQyeJj5PxJZle
zxQATvd+RNVpsDCQgwCU8nRNJJMAgOPtn7BoEa/fkW3Mwmfq/gOGesk9rJFgfUHv
7YOkIGyFbqvnTSwnogu8HgAKUQOfcU2mbAqR2vrtIJTmheNwDqSlyQQo3kB0gdc0
GNtXBLe0LjJ2Y+aLVs8WgQbfF6npTlGmZv/odK16vGrl98cZZHbA3fLDjA/yfJvl
CSTuBHYVfnIRBQic1J7kowQM/C+yUy+agdHMYYGlD9BXtf1QuvWae2Mi/CCPpL51
8TlGlOPByETTc+UjqWoQ3v2Ulb0ZfYft0EUZEKJdqn1wnflKOE+Sb/NogzmzO0Jx
2XQ/alujAgMBAAECggEAYtUUBgm4mHon/DfYJ1DNr6hh/uC/huFvGwB/anzj1Ee6
XoEf8tnNjL8Qp6Fxpi2fOuNU/YfMbTXVwBPZAAlYcPLuhzx67OqHnlV7eBWn8GeU
U7UlMq8JAHq5X5jqdzsMONWVEVBdoRWvQgE0678LYWhH72/G6WzazJ/+fji3/y5Y
A28vSPMGaV9x5W9Vz1OBOdfcTDsFjZxXFs+6Q8gvRTQDbh9iV6SfE5ETAf0PLpnh
JCqagLm74OUFXhzQADo97v/ExE7/Bkl6+g72qMBz4SQYhYGp05px4veATI+HEVrG
68ZY6fbTRfGHAhPdEMXubt5X8o/7zlj34A7OLicJ7QKBgQD6aXSuKDfqQUd4NsmM
cyYU8/nOzPrnh5gq7215glkzAE9IDxFJb81mUn1G48LaDCKLNt4rnw8oF0AtKKUQ
Jdqlm6CGy+1URzLameS+viuJb2ab9HYpH43wMcetmlFck+ziNxGr/J3O5BDRk33c
fj3MChyuFc5oAdDdvBCsmpteDwKBgQDkPpltjxEaLGlj9c1XxroOOW99PXPXfZ0U
P2+5mK071/SviXO5Cvw2A8B1tRpQ/1o6WYm1kDct9jo2YtcBDn7trgmpS+Sciswt
Aal1DRtvWmqBHh32I1DTmrf3PxeTdbbD01mPhWDIe3NgDz0SZpuEKksZ75TgiD+y
MtZxHXr9LQKBgQCzE0Uo4oQSFvrYQj3iHdqm8067ECWB+5rbYXulgIzvhxIrUvMm
1DhMK0OBtZF7w1/UtLku8sGxBueTI9Te9mMlOWUT4LPpKD16zMEjkvWphCwZ7Tmu
8OzdT4wfXxM+JF8r6vvNRYtJEBni9hn026avyq914wxHnrzSRRKbjLj9CwKBgQDB
agq6PLJRa7Ejc/g+mbiwtRs1Fg5EXb3umpMiw66JN8exuNjHxfdUDnnZRU63tKvR
Jm773OnlmPJbhAaObqpA32pwfE+OGFBNE0t2VVUaV5RJNixNmD+2ETYz3tMrsmTe
LQuIA46wVWy/yioGnczLgsuBfvS6ELtpVotB76l5QQKBgDszyPK3fwndNtN6tF/o
3pLEhRmhO/Yrdkj7v/pm/mh+9uKnXSh6LSnob8RU5S7KA8aCb3DZiCW0UHcfKBol
AutxMWdyhEUstK7FJznKArPAxuBtfBEuYUuJ8BIOvbwWuhiy1U153mAGE8tc5ANw
i67DfQxDLMsSNAyoIDD34Zn0
-----END PRIVATE KEY-----
"""
# The public half, as the authorization server keeps it (Google publishes it as a certificate).
SERVICE_ACCOUNT_JWKS: dict[str, list[dict[str, str]]] = {"keys": [{
    "kty": "RSA", "e": "AQAB", "kid": SERVICE_ACCOUNT_KEY_ID, "use": "sig", "alg": "RS256",
    "n": "30MniY-T8SWZXs8UAE73fkTVabAwkIMAlPJ0TSSTAIDj7Z-waBGv35FtzMJn6v4DhnrJPayRYH1B7-2DpCBshW6r500sJ6ILvB4AClEDn3"
         "FNpmwKkdr67SCU5oXjcA6kpckEKN5AdIHXNBjbVwS3tC4ydmPmi1bPFoEG3xep6U5Rpmb_6HSterxq5ffHGWR2wN3yw4wP8nyb5Qkk7g"
         "R2FX5yEQUInNSe5KMEDPwvslMvmoHRzGGBpQ_QV7X9ULr1mntjIvwgj6S-dfE5RpTjwchE03PlI6lqEN79lJW9GX2H7dBFGRCiXap9cJ"
         "35SjhPkm_zaIM5sztCcdl0P2pbow"}]}
SERVICE_ACCOUNT_CLIENT_ID = "104729356112233445566"  # Google's are numeric strings too
SERVICE_ACCOUNT_SCOPE = "reports:read"


def service_account_key_file(base_url: str) -> dict[str, str]:
    """The service account's key file, as a dict: what `json.load` gives for the downloaded file.

    The shape is Google Cloud's ("Create and delete service account keys", and the fields
    google-auth's `service_account.Credentials.from_service_account_info` reads: `client_email`,
    `token_uri`, `private_key`, `private_key_id`, and `universe_domain` when present). Google's
    `auth_provider_x509_cert_url` and `client_x509_cert_url` are left out: this API publishes no
    certificates for service accounts. `token_uri` is where the assertion goes; pass the loopback
    server's base URL to get a file for it (`demo.SERVICE_ACCOUNT_KEY_FILE` is the in-process one).
    """
    return {
        "type": "service_account",
        "project_id": "practice-project",
        "private_key_id": SERVICE_ACCOUNT_KEY_ID,
        "private_key": SERVICE_ACCOUNT_PRIVATE_KEY,
        "client_email": SERVICE_ACCOUNT_EMAIL,
        "client_id": SERVICE_ACCOUNT_CLIENT_ID,
        "auth_uri": base_url + "/oauth/authorize",
        "token_uri": base_url + "/oauth/token",
        "universe_domain": "practice.test",
    }


# -- keys nobody registered -----------------------------------------------------------------------

# A client's DPoP key (RFC 9449): the client makes it itself and registers it nowhere; the token is
# bound to its thumbprint. Shipped so that outputs repeat; generating a P-256 key is also cheap.
DPOP_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/z/5snSONHMIuWjO
qFCnxtqUWODUr9UERqhdrJWP4o+hRANCAATNU5Nrj5d9npofGFGlx0XYl/sPuJAi
cH+6pwNuNM+6jJRVOJh644ZsN0vRDzVFwiG9QX01SIY6zcyoCebsn9xX
-----END PRIVATE KEY-----
"""
# An attacker's key, or simply the wrong one: signs assertions and proofs that must be refused.
OTHER_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgN3x0DCSjnvWTxi/G
ACfxmNlRSu//1d4yzPvnSifGB3uhRANCAASBVgjYg0beyLrTCN0QfFWHuHSWoK9Q
lXVen8Nyum/LhNYkj2kgx5KlYpKt5MxFktnX0/G5kfgcdzbCeq5ktiLj
-----END PRIVATE KEY-----
"""

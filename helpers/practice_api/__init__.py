"""The practice API: a small fictional API and its authorization server, written to be read.

It is what a careful server does: password hashes compared in constant time, RFC-shaped
challenges and errors, strict JWT checks, exact redirect URIs, single-use codes. It is a plain
WSGI app (app.py) and knows nothing of how it is served (that is helpers/serving/).
"""

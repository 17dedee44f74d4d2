"""How a client reaches the practice API: in process through `responses`, or over loopback HTTP(S).

Both transports turn a request into the same WSGI call (gateway.py), so every notebook sees one
API. The terminal command `python -m helpers.server` is cli.py; the loopback tools that a
notebook's client side needs (a redirect listener, a CONNECT proxy) live here too.
"""

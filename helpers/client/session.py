"""A requests Session for talking to an API for real: a timeout on every call, and retries done right.

    with api_session(auth=auth) as session:
        response = session.get("https://api.example.com/notes")     # (3.05, 10) s unless you say
        response.raise_for_status()

requests has no default timeout: a call without `timeout=` can wait forever for a server that
accepted the connection and never answers. And a retry loop written by hand usually retries a
POST (sending the note twice), ignores `Retry-After`, and has every client retry at the same
instant. So this module mounts urllib3's own `Retry` on the session's adapter:

- only idempotent methods are retried after the request went out (HEAD, GET, PUT, DELETE, OPTIONS,
  TRACE: RFC 9110 §9.2.2). A POST that timed out may have been applied: it is never sent again. Any
  method is retried when the connection could not be made (nothing was sent);
- on 429, 502, 503 and 504, and on connection errors and read timeouts, up to `retries` times;
  urllib3 also retries a 413 (Content Too Large) that carries Retry-After (its
  `Retry.RETRY_AFTER_STATUS_CODES` are 413, 429 and 503), as RFC 9110 §15.5.14 allows;
- `Retry-After` (RFC 9110 §10.2.3, seconds or an HTTP-date; RFC 6585 §4 for 429) is honoured up
  to `retry_after_max` seconds. A server that asks for more gets no retry at all: you get its
  answer at once, Retry-After included, to wait or give up as you choose. (urllib3's own
  retry_after_max, 2.6.3 and later, waits the cap and tries again, before the time the server
  named: that ignores the server, so PatientRetry stops instead);
- without Retry-After, the wait is exponential: urllib3 retries the first failure at once, with no
  backoff and no jitter, then waits `backoff * 2 ** (n - 1)` (n counts the failures in a row) plus
  up to `jitter` seconds at random, so that a hundred clients that failed together do not all come
  back together after the first retry;
- a `Retry-After` that is neither seconds nor a date is ignored (the backoff applies): urllib3
  would raise InvalidHeader and end the call over a header;
- when the retries run out on a status, you get the last response (raise_on_status=False), so
  `raise_for_status()` reports it with its body; out of retries on a read timeout, you get
  requests' ReadTimeout, as a POST does (urllib3's retries turn it into a ConnectionError);
- every call gets `timeout` (connect, read) unless it passes its own. The connect timeout is a
  little over a multiple of 3 s, TCP's first retransmission window.

The session reads nothing from the environment (`trust_env = False`): no ~/.netrc entry is sent
on a redirect (requests reads netrc again on every redirect, even with an auth object), and the
proxy and CA-bundle variables are ignored too. Pass what you need: `verify="/path/to/ca.pem"` for
a private CA, `proxies={"https": "http://proxy.example:3128"}` for a proxy.

Retries happen below the auth: a retried request carries the same Authorization header, and
RefreshingBearerAuth's 401 handling runs once, on the final answer.

This file imports nothing else from `helpers`: copy it into a project on its own.
"""
from __future__ import annotations

import math

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

DEFAULT_TIMEOUT = (3.05, 10)  # (connect, read) seconds
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class PatientRetry(Retry):
    """urllib3's Retry, except that a Retry-After it cannot parse is treated as absent, and one
    above `retry_after_max` ends the retries (the caller gets that answer) instead of being cut
    to the cap: retrying before the time the server named is ignoring it (RFC 9110 §10.2.3)."""

    def get_retry_after(self, response) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None  # not seconds, not an HTTP-date: fall back on the backoff

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        asked = self._asked_wait(response)
        if asked is not None and asked > self.retry_after_max:
            # urllib3 hands the response back on MaxRetryError when raise_on_status is False
            raise MaxRetryError(_pool, url, ResponseError(f"Retry-After asks for {asked:g} s, more than "
                                                          f"retry_after_max ({self.retry_after_max} s)"))
        return super().increment(method, url, response=response, error=error, _pool=_pool,
                                 _stacktrace=_stacktrace)

    def _asked_wait(self, response) -> float | None:
        """The seconds the response's Retry-After asks for, uncapped; None if it has none we can read."""
        if response is None or not self.respect_retry_after_header:
            return None
        header = response.headers.get("Retry-After")
        if header is None:
            return None
        try:
            seconds = self.new(retry_after_max=math.inf).parse_retry_after(header)
        except InvalidHeader:
            return None
        try:
            return float(seconds)  # "9" * 309 parses to an int no float can hold
        except OverflowError:
            return math.inf  # longer than any cap: the caller gets the answer at once


class TimeoutHTTPAdapter(HTTPAdapter):
    """An HTTPAdapter that gives every request `timeout` unless the call passed one."""

    def __init__(self, *args, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, **kwargs) -> None:
        self.timeout = timeout
        super().__init__(*args, **kwargs)

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout=None, verify=True,
             cert=None, proxies=None) -> requests.Response:
        try:
            return super().send(request, stream=stream, timeout=self.timeout if timeout is None else timeout,
                                verify=verify, cert=cert, proxies=proxies)
        except requests.ConnectionError as error:
            reason = error.args[0].reason if error.args and isinstance(error.args[0], MaxRetryError) else None
            if isinstance(reason, ReadTimeoutError):  # retries ran out on read timeouts: say "timeout"
                raise requests.ReadTimeout(error.args[0], request=request) from error
            raise


def api_session(*, auth: requests.auth.AuthBase | None = None, retries: int = 3, backoff: float = 0.5,
                jitter: float | None = None, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                retry_after_max: float = 60, backoff_max: float = 30, verify: bool | str = True,
                proxies: dict[str, str] | None = None) -> requests.Session:
    """A Session with `timeout` on every call and urllib3 retries, as the module docstring says.

    `jitter` defaults to `backoff`. Pass `retries=0` to turn retries off (a call that must not
    wait). `retry_after_max` is the longest Retry-After this session waits for: above it, the answer
    comes back at once (check `response.headers["Retry-After"]`). A call that wants another timeout passes `timeout=` as usual; there is no way to ask
    for no timeout at all, on purpose.
    """
    retry = PatientRetry(total=retries, connect=retries, read=retries, status=retries, other=0,
                         allowed_methods=Retry.DEFAULT_ALLOWED_METHODS, status_forcelist=RETRY_STATUSES,
                         respect_retry_after_header=True, retry_after_max=retry_after_max,
                         backoff_factor=backoff, backoff_jitter=backoff if jitter is None else jitter,
                         backoff_max=backoff_max, raise_on_status=False)
    session = requests.Session()
    session.trust_env = False  # no netrc, proxy or CA-bundle variables: pass verify= and proxies=
    session.verify = verify
    session.proxies = dict(proxies or {})
    adapter = TimeoutHTTPAdapter(max_retries=retry, timeout=timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.auth = auth
    return session

"""``client.requests_auth()`` and ``client.httpx_auth()``: the client's cached token for code that
sends its requests through requests or httpx.

The adapters add ``Authorization: Zoho-oauthtoken <token>`` from the same cache the client uses
(one refresh for everyone), refuse before sending when the URL is not a host the token may go to
(``ConfigError``), and on a 401 whose Zoho code means a dead token drop that token
(compare-and-invalidate) and resend once with a fresh one. Neither library is a dependency of
``zoho_oauth``: each is imported only when its adapter is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncGenerator, Generator, Union

from ._native import is_dead_token_response

if TYPE_CHECKING:
    import httpx
    import requests.auth

    from ._native import AsyncClient, Client

_SCHEME = "Zoho-oauthtoken"


def requests_auth(client: "Client") -> "requests.auth.AuthBase":
    """A ``requests.auth.AuthBase`` bound to ``client`` (see the module docstring)."""
    import requests
    import requests.auth

    class ZohoRequestsAuth(requests.auth.AuthBase):
        """Adds the Zoho access token of a ``zoho_oauth.Client`` to requests' requests."""

        def __init__(self, c: "Client") -> None:
            self._client = c

        def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
            self._client.check_url(str(r.url))
            token = self._client.access_token()
            r.headers["Authorization"] = f"{_SCHEME} {token}"
            r.register_hook("response", self._retry_on_dead_token)
            return r

        def _retry_on_dead_token(self, resp: requests.Response, **kwargs: Any) -> requests.Response:
            if getattr(resp.request, "_zoho_retried", False) or not is_dead_token_response(resp.status_code, resp.content):
                return resp
            sent = str(resp.request.headers.get("Authorization", ""))
            if sent.startswith(_SCHEME + " "):
                self._client.invalidate(sent[len(_SCHEME) + 1 :])
            retry = resp.request.copy()
            retry.headers["Authorization"] = f"{_SCHEME} {self._client.access_token()}"
            setattr(retry, "_zoho_retried", True)
            resp.close()
            conn = resp.connection
            new = conn.send(retry, **kwargs)
            new.history.append(resp)
            new.request = retry
            return new

        def __repr__(self) -> str:
            return f"ZohoRequestsAuth({self._client!r})"

    return ZohoRequestsAuth(client)


def httpx_auth(client: "Union[Client, AsyncClient]") -> "httpx.Auth":
    """An ``httpx.Auth`` bound to ``client``: a ``Client`` serves ``httpx.Client``, an
    ``AsyncClient`` serves ``httpx.AsyncClient`` (see the module docstring)."""
    import httpx

    from ._native import AsyncClient

    is_async = isinstance(client, AsyncClient)

    class ZohoHttpxAuth(httpx.Auth):
        """Adds the Zoho access token of a ``zoho_oauth`` client to httpx requests."""

        def __init__(self, c: "Union[Client, AsyncClient]") -> None:
            self._client = c

        def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
            c = self._client
            if isinstance(c, AsyncClient):
                raise TypeError("an AsyncClient's httpx_auth() serves httpx.AsyncClient; use Client.httpx_auth() with httpx.Client")
            c.check_url(str(request.url))
            token = c.access_token()
            request.headers["Authorization"] = f"{_SCHEME} {token}"
            response = yield request
            if response.status_code == 401 and is_dead_token_response(401, response.read()):
                c.invalidate(token)
                request.headers["Authorization"] = f"{_SCHEME} {c.access_token()}"
                yield request

        async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
            c = self._client
            c.check_url(str(request.url))
            if isinstance(c, AsyncClient):
                token = await c.access_token()
            else:
                token = c.access_token()
            request.headers["Authorization"] = f"{_SCHEME} {token}"
            response = yield request
            if response.status_code == 401 and is_dead_token_response(401, await response.aread()):
                if isinstance(c, AsyncClient):
                    await c.invalidate(token)
                    fresh = await c.access_token()
                else:
                    c.invalidate(token)
                    fresh = c.access_token()
                request.headers["Authorization"] = f"{_SCHEME} {fresh}"
                yield request

        def __repr__(self) -> str:
            kind = "async" if is_async else "sync"
            return f"ZohoHttpxAuth({kind}, {self._client!r})"

    return ZohoHttpxAuth(client)

"""The protocol of a token store of your own (``token_store=`` given an object, not a URL)."""

from __future__ import annotations

from typing import Iterable, Optional, Protocol, Union, runtime_checkable


@runtime_checkable
class KeyValueStore(Protocol):
    """A string map with an atomic compare-and-set: all a token store of your own provides.

    Pass an object with these three methods as ``token_store=`` to ``Client`` or ``AsyncClient``
    to keep tokens in a database the built-in store URLs do not cover (DynamoDB, etcd, a Django
    cache, SQLite, an in-house service). The Rust core builds everything else on them, exactly
    as for its own stores: the refresh lease with its fencing number, compare-and-invalidate,
    the refresh budget, the throttle cooldown and the failure backoff are fields of one JSON value
    per identity, changed by ``get`` → change → ``compare_and_set`` and retried when another
    client changed it first. So clients in other threads, processes and hosts that share the
    store refresh once, as long as ``compare_and_set`` is atomic where the store is shared.

    The methods are plain functions (not ``async def``); they are called on a worker thread, so
    blocking I/O in them is fine, also under ``AsyncClient``. An exception they raise, an answer
    of the wrong type, or no answer within ``timeout`` seconds (an optional attribute, default 2)
    becomes a ``StoreError``: clients whose cached token is fresh keep working, and none refreshes
    until the store answers again. Values hold the cached access token (and the refresh token when
    ``save_refresh_token()`` is called): store them as the secrets they are. Keys
    (``zoho-oauth:v1:<hash>``) reveal nothing.

    ``examples/python/sqlite_store.py`` is a complete store on SQLite, shared by processes.
    """

    def get(self, key: str) -> Optional[Union[str, bytes]]:
        """The value of ``key``, or ``None`` when it has none."""
        ...

    def compare_and_set(self, key: str, expected: Optional[str], new: Optional[str]) -> bool:
        """Atomically: if the value of ``key`` is ``expected`` (``None``: it has none), set it to
        ``new`` (``None``: remove it) and return ``True``; otherwise change nothing and return
        ``False``."""
        ...

    def keys(self) -> Iterable[Union[str, bytes]]:
        """Every key that has a value (for listing; any order)."""
        ...

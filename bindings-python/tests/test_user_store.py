"""A token store of the user's own (``token_store=`` an object with ``get``, ``compare_and_set``
and ``keys``): the core's lease, budget and backoff on top of it, on a bad day of the store itself,
and clear errors for stores that break the contract. Across processes:
``examples/python/sqlite_store.py``, which the test command runs (four workers on one store, one
refresh, asserted by the example)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, List, Optional

import pytest

from zoho_oauth import ConfigError, KeyValueStore, StoreError
from zoho_oauth.testing import MockZoho

from kv_stores import DictStore

def test_the_protocol_is_checkable() -> None:
    assert isinstance(DictStore(), KeyValueStore)
    assert not isinstance(object(), KeyValueStore)


def test_tokens_live_in_the_users_store(mock_zoho: MockZoho) -> None:
    store = DictStore()
    rt = str(mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"])
    with mock_zoho.client(rt, token_store=store) as c:
        token = c.access_token()
        assert c.get("/crm/v8/Leads").status == 200
        key = c.store_key
    assert list(store.data) == [key] and key.startswith("zoho-oauth:v1:")
    record = json.loads(store.data[key])
    assert record["token"]["access_token"] == token
    assert len(record["refreshes"]) == 1 and record["fence"] >= 1
    assert rt not in store.data[key] and "mock-self-secret" not in store.data[key]
    # A second client (a new process would do the same) reads the stored token: no refresh.
    with mock_zoho.client(rt, token_store=store) as c2:
        assert c2.access_token() == token
    assert mock_zoho.token_requests("refresh_token") == 1


def test_a_broken_store_never_causes_a_refresh(mock_zoho: MockZoho) -> None:
    store = DictStore()
    with mock_zoho.client(token_store=store) as c:
        token = c.access_token()
        store.broken = True
        # The cached token is fresh: the store is not needed.
        assert c.access_token() == token
        assert c.get("/crm/v8/Leads").status == 200
        # Expired: without the store's lease and budget nobody refreshes; a typed error instead.
        mock_zoho.advance_clock(3700)
        with pytest.raises(StoreError) as e:
            c.access_token()
        assert e.value.code == "store"
        assert "DictStore" in str(e.value) and "get() failed" in str(e.value)
        assert "ConnectionError: store down" in str(e.value)
        assert "1000.aaaa" not in str(e.value), "token-shaped text never reaches an error"
        assert e.value.hint and "get()" in e.value.hint
        assert mock_zoho.token_requests("refresh_token") == 1
        # The store is back: exactly one refresh.
        store.broken = False
        assert c.access_token() != token
    assert mock_zoho.token_requests("refresh_token") == 2


def test_async_client_with_a_users_store(mock_zoho: MockZoho) -> None:
    store = DictStore()

    async def main() -> List[str]:
        async with mock_zoho.async_client(token_store=store) as c:
            tokens = await asyncio.gather(*(c.access_token() for _ in range(20)))
        return list(tokens)

    tokens = asyncio.run(main())
    assert len(set(tokens)) == 1
    assert mock_zoho.token_requests("refresh_token") == 1
    assert "compare_and_set" in store.calls


class WrongGet(DictStore):
    def get(self, key: str) -> Any:
        return 5


class NoneFromSet(DictStore):
    def compare_and_set(self, key: str, expected: Optional[str], new: Optional[str]) -> Any:
        super().compare_and_set(key, expected, new)


class AsyncGet(DictStore):
    async def get(self, key: str) -> Optional[str]:  # type: ignore[override]
        return None


class Hangs(DictStore):
    timeout = 0.2

    def get(self, key: str) -> Optional[str]:
        threading.Event().wait(2)
        return None


@pytest.mark.parametrize(
    "store,shown",
    [
        (WrongGet(), "get() returned a int; it must return str"),
        (NoneFromSet(), "compare_and_set() returned None; it must return True"),
        (AsyncGet(), "coroutine"),
        (Hangs(), "no answer within 200 ms"),
    ],
    ids=["wrong-type", "none-from-compare-and-set", "async-def", "hangs"],
)
def test_contract_breaches_are_store_errors(mock_zoho: MockZoho, store: DictStore, shown: str) -> None:
    with mock_zoho.client(token_store=store) as c:
        with pytest.raises(StoreError) as e:
            c.access_token()
    assert shown in str(e.value), str(e.value)
    assert mock_zoho.token_requests("refresh_token") == 0


def test_bytes_values_are_accepted(mock_zoho: MockZoho) -> None:
    # redis-py and others answer bytes: read as UTF-8 text.
    class BytesStore(DictStore):
        def get(self, key: str) -> Optional[str]:
            v = super().get(key)
            return None if v is None else v.encode()  # type: ignore[return-value]

    store = BytesStore()
    rt = str(mock_zoho.mint_refresh_token(["ZohoCRM.modules.ALL"])["refresh_token"])
    with mock_zoho.client(rt, token_store=store) as c, mock_zoho.client(rt, token_store=store) as c2:
        assert c2.access_token() == c.access_token()
    assert mock_zoho.token_requests("refresh_token") == 1


@pytest.mark.parametrize(
    "obj,shown",
    [(object(), "without a get() method"), (42, "without a get() method")],
)
def test_objects_that_are_not_stores_are_config_errors(mock_zoho: MockZoho, obj: Any, shown: str) -> None:
    with pytest.raises(ConfigError) as e:
        mock_zoho.client(token_store=obj)
    assert shown in str(e.value) and e.value.hint and "KeyValueStore" in e.value.hint


def test_a_bad_timeout_attribute_is_a_config_error(mock_zoho: MockZoho) -> None:
    store = DictStore()
    store.timeout = -1  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as e:
        mock_zoho.client(token_store=store)
    assert "timeout" in str(e.value)

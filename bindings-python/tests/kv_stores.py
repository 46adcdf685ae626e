"""A token store of the user's own for the tests (``token_store=`` an object): the smallest
correct ``zoho_oauth.KeyValueStore``, a dict behind a lock."""

from __future__ import annotations

import threading
from typing import Dict, List, Optional


class DictStore:
    """The smallest correct store: a dict behind a lock. ``broken`` makes every call raise."""

    def __init__(self) -> None:
        self.data: Dict[str, str] = {}
        self.lock = threading.Lock()
        self.calls: List[str] = []
        self.broken = False

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if self.broken:
            raise ConnectionError("store down (last value 1000.aaaaaaaaaaaaaaaaaaaaaaaa)")

    def get(self, key: str) -> Optional[str]:
        self._enter("get")
        with self.lock:
            return self.data.get(key)

    def compare_and_set(self, key: str, expected: Optional[str], new: Optional[str]) -> bool:
        self._enter("compare_and_set")
        with self.lock:
            if self.data.get(key) != expected:
                return False
            if new is None:
                self.data.pop(key, None)
            else:
                self.data[key] = new
            return True

    def keys(self) -> List[str]:
        self._enter("keys")
        with self.lock:
            return list(self.data)

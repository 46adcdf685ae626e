"""``Response.headers``: a read-only, case-insensitive mapping of header names to values."""

from __future__ import annotations

from typing import Dict, Iterable, Iterator, List, Mapping, Tuple


class Headers(Mapping[str, str]):
    """Response headers. ``headers["Content-Type"]`` and ``headers["content-type"]`` are the same;
    a header sent more than once is joined with ``", "`` (``get_list()`` keeps the values apart)."""

    __slots__ = ("_items", "_joined")

    def __init__(self, items: Iterable[Tuple[str, str]] = ()) -> None:
        self._items: List[Tuple[str, str]] = [(k.lower(), v) for k, v in items]
        joined: Dict[str, str] = {}
        for k, v in self._items:
            joined[k] = f"{joined[k]}, {v}" if k in joined else v
        self._joined = joined

    def __getitem__(self, name: str) -> str:
        return self._joined[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._joined

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined)

    def __len__(self) -> int:
        return len(self._joined)

    def get_list(self, name: str) -> List[str]:
        """Every value of ``name``, in arrival order."""
        n = name.lower()
        return [v for k, v in self._items if k == n]

    def __repr__(self) -> str:
        return f"Headers({self._joined!r})"

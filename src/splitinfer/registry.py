"""One registry helper for the project's three name registries.

Planners (:mod:`splitinfer.planners`), experiments (:mod:`splitinfer.experiments.registry`) and
conformance scenario families (:mod:`splitinfer.testing.families`) each map a name to an entry;
each fills itself by importing the modules that register (a package's planner families, its
experiment modules, its ``family_*`` modules). :class:`Registry` is that map: one rule for a
name registered twice (an error), one error for an unknown name (with close matches,
:func:`~splitinfer.errors.unknown_name`), and a loader run once, before the first look-up.

Examples
--------
>>> colours = Registry("colour")
>>> colours.add("red", (255, 0, 0))
>>> colours.get("red"), colours.names()
((255, 0, 0), ['red'])
>>> colours.add("red", (254, 0, 0))
Traceback (most recent call last):
ValueError: colour name 'red' registered twice
>>> colours.get("rde")  # doctest: +ELLIPSIS
Traceback (most recent call last):
splitinfer.errors.UnknownNameError: unknown colour 'rde'; did you mean: red? ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from splitinfer.errors import unknown_name

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> entries of one kind, filled by a loader that imports the registering modules.

    Parameters
    ----------
    kind : str
        What the entries are, for messages (``"planner"``, ``"experiment"``).
    load : callable, optional
        Imports the modules that register; run once, before the first :meth:`get` of a name
        not yet registered and before the first :meth:`names`.

    Attributes
    ----------
    entries : dict
        The registered entries by name (tests may patch it).
    """

    def __init__(self, kind: str, load: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self.entries: dict[str, T] = {}
        self._load = load
        self._loaded = load is None

    def load(self) -> None:
        """Run the loader (once)."""
        if not self._loaded:
            self._loaded = True
            assert self._load is not None
            self._load()

    def add(self, name: str, entry: T) -> None:
        """Register ``entry`` as ``name``.

        Raises
        ------
        ValueError
            If ``name`` is registered already.
        """
        if name in self.entries:
            raise ValueError(f"{self.kind} name {name!r} registered twice")
        self.entries[name] = entry

    def remove(self, name: str) -> T | None:
        """Unregister ``name`` (for tests and doctests that register temporary entries)."""
        return self.entries.pop(name, None)

    def get(self, name: str) -> T:
        """The entry registered as ``name``.

        Raises
        ------
        UnknownNameError
            For an unknown name (the message lists close matches).
        """
        if name not in self.entries:
            self.load()
        try:
            return self.entries[name]
        except KeyError:
            raise unknown_name(self.kind, name, sorted(self.entries)) from None

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self.load()
        return sorted(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

"""The planner catalogue table of ``docs/planners.md``, generated from the registry.

Run ``python -m splitinfer.testing.catalogue docs/planners.md`` after registering a planner: it
rewrites the table between the ``<!-- catalogue:start -->`` and ``<!-- catalogue:end -->``
markers. ``tests/test_conformance.py`` checks that the document lists every registered name.

Examples
--------
>>> table = catalogue_table()
>>> table.splitlines()[0].startswith("| name |")
True
>>> "`exact`" in table and "`local`" in table
True
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["catalogue_table", "update_doc", "START", "END"]

START = "<!-- catalogue:start -->"
END = "<!-- catalogue:end -->"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def catalogue_table() -> str:
    """A markdown table: one row per registered planner (name, kind, what it does, source)."""
    from splitinfer.planners import list_planners, planner_info

    rows = ["| name | kind | what it decides / optimises | source |", "|---|---|---|---|"]
    for name in list_planners():
        info = planner_info(name)
        kind = []
        kind.append("general" if getattr(info.cls, "general", True) else "paper-specific")
        if getattr(info.cls, "online", False):
            kind.append("online")
        if info.exact:
            kind.append("exact (yardstick)")
        if info.alias_of:
            fixed = ", ".join(f"{k}={v!r}" for k, v in info.defaults)
            kind.append(f"alias of `{info.alias_of}`" + (f" ({fixed})" if fixed else ""))
        rows.append(f"| `{name}` | {_cell('; '.join(kind))} | {_cell(info.description)} | "
                    f"{_cell(info.source)} |")
    return "\n".join(rows)


def update_doc(path: str | Path) -> bool:
    """Replace the table between the markers in ``path``; True if the file changed."""
    p = Path(path)
    text = p.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{p}: markers {START} / {END} not found")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{catalogue_table()}\n{END}{tail}"
    if new != text:
        p.write_text(new)
        return True
    return False


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    changed = update_doc(sys.argv[1] if len(sys.argv) > 1 else "docs/planners.md")
    print("updated" if changed else "up to date")

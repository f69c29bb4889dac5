"""Names people know in everything a user reads: papers by citation, not by specification index.

The papers' texts are indexed inside the project as ``000`` .. ``004`` (file names that start
with that index), and older source strings cite them that way next to equation numbers. What a
user reads (tables, reports, error lines, plot captions) names a paper by authors, method and
year instead: :func:`readable` rewrites such references in a text through
:func:`splitinfer.papers.cite`, and drops internal tracker wording.

Examples
--------
>>> readable("004" + "_ccb93af47a1d8c09.txt sec. 4.2.2 (1)")
'Zheng, DMCJIA (Journal of Computers 2021) sec. 4.2.2 (1)'
>>> readable("Seed 004's cloud-only baseline")
"Zheng 2021's cloud-only baseline"
>>> readable("classic baseline (000 end-only, 002 device-only)")
'classic baseline (Shi et al. 2021 end-only, Huang et al. 2019 device-only)'
>>> readable("003 Duan & Wu ICPP'21, section 6.2 (CO)")
'Duan & Wu 2021, section 6.2 (CO)'
>>> readable("issue 3 yardstick; CP-SAT model")
'the yardstick of every gap; CP-SAT model'
>>> readable("1000 tasks at 002.5 s")
'1000 tasks at 002.5 s'
"""

from __future__ import annotations

import re

from splitinfer.papers import PAPERS, Paper

__all__ = ["readable", "short_cite"]

_BY_INDEX = {p.seed: p for p in PAPERS.values() if p.seed}
_INDICES = "|".join(sorted(_BY_INDEX)) or "(?!)"
_FILE = re.compile(rf"\b(?:[Ss]eed )?({_INDICES})_[0-9a-f]{{8,}}\.txt\b")
_SEED = re.compile(rf"\b[Ss]eeds? ({_INDICES})\b")
_BARE = re.compile(rf"(?<![\w.])({_INDICES})(?=[ ,)'])")
_TRACKER = re.compile(r"\bissue \d+ yardstick\b")


def short_cite(paper: Paper) -> str:
    """``"Zheng 2021"``, ``"Li et al. 2022"``: authors and year, for running text.

    Examples
    --------
    >>> short_cite(PAPERS["duan2021"])
    'Duan & Wu 2021'
    """
    return f"{paper.etal} {paper.year}"


def readable(text: str) -> str:
    """``text`` with references to papers by index rewritten as citations (see module doc)."""
    if not text:
        return text
    text = _FILE.sub(lambda m: _BY_INDEX[m.group(1)].cite(), text)
    text = _SEED.sub(lambda m: short_cite(_BY_INDEX[m.group(1)]), text)
    text = _BARE.sub(lambda m: short_cite(_BY_INDEX[m.group(1)]), text)
    for p in _BY_INDEX.values():  # "Duan & Wu 2021 Duan & Wu ICPP'21" -> "Duan & Wu 2021"
        cited = re.escape(short_cite(p))
        text = re.sub(rf"({cited}) {re.escape(p.etal)} [A-Z][\w-]*'\d\d\b", r"\1", text)
    return _TRACKER.sub("the yardstick of every gap", text)

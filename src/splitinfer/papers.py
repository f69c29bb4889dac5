"""One key per paper: the five papers splitinfer implements, and the classic baselines it cites.

Every part of the project that belongs to one paper is named by that paper's key: the planner
family's package (``splitinfer.planners.<key>``), its experiments module, its conformance family,
its docs pages, its shipped scenarios and its tests. Anything a user sees cites a paper through
:func:`cite` (authors, short title, year), never by the file name of its text.

Examples
--------
>>> PAPERS["duan2021"].short_title
'JPS'
>>> cite("duan2021")
'Duan & Wu, JPS (ICPP 2021)'
>>> sorted(PAPERS)
['duan2021', 'huang2019', 'li2022', 'shi2021', 'zheng2021']
>>> paper_of("huang2019-fig4a").key
'huang2019'
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import unknown_name

__all__ = ["Paper", "PAPERS", "BASELINES", "cite", "get_paper", "paper_of"]


@dataclass(frozen=True)
class Paper:
    """A paper the project implements or cites.

    Parameters
    ----------
    key : str
        The one name of the paper inside the project (``shi2021``).
    authors : tuple of str
        Authors, in the paper's order.
    title : str
        Full title.
    short_title : str
        The name people use for its method (``GSPI``, ``JPS``).
    venue : str
        Where it appeared.
    year : int
        Year of publication.
    seed : str or None
        Index of its text in the project's specification (``"000"``); ``None`` for cited work.
    aliases : tuple of str
        Older or informal prefixes (``deepar``) that still identify it, e.g. in experiment ids.

    Examples
    --------
    >>> PAPERS["li2022"].etal
    'Li et al.'
    """

    key: str
    authors: tuple[str, ...]
    title: str
    short_title: str
    venue: str
    year: int
    seed: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def etal(self) -> str:
        """First author's surname, with "et al." beyond two authors."""
        surnames = [a.split()[-1] for a in self.authors]
        if len(surnames) == 1:
            return surnames[0]
        if len(surnames) == 2:
            return f"{surnames[0]} & {surnames[1]}"
        return f"{surnames[0]} et al."

    def cite(self, *, full: bool = False) -> str:
        """The citation a user sees.

        Parameters
        ----------
        full : bool
            With all authors and the whole title (for docs and report footers).

        Returns
        -------
        str

        Examples
        --------
        >>> PAPERS["zheng2021"].cite()
        'Zheng, DMCJIA (Journal of Computers 2021)'
        """
        if full:
            return f"{', '.join(self.authors)}: {self.title}. {self.venue}, {self.year}."
        return f"{self.etal}, {self.short_title} ({self.venue} {self.year})"


PAPERS: dict[str, Paper] = {
    p.key: p
    for p in (
        Paper(
            "shi2021",
            ("Lei Shi", "Zhigang Xu", "Yi Shi", "Yuqi Fan", "Xu Ding", "Yabo Sun"),
            "A DNN Inference Acceleration Algorithm in Heterogeneous Edge Computing: "
            "Joint Task Allocation and Model Partition",
            "GSPI", "CollaborateCom", 2021, seed="000", aliases=("gspi",),
        ),
        Paper(
            "li2022",
            ("Mingze Li", "Ning Wang", "Huan Zhou", "Yubin Duan", "Jie Wu"),
            "Fused-Layer-based DNN Model Parallelism and Partial Computation Offloading",
            "Fused-layer offloading", "IEEE GLOBECOM", 2022, seed="001",
            aliases=("fused", "fl"),
        ),
        Paper(
            "huang2019",
            ("Yutao Huang", "Feng Wang", "Fangxin Wang", "Jiangchuan Liu"),
            "DeePar: A Hybrid Device-Edge-Cloud Execution Framework for Mobile Deep Learning "
            "Applications",
            "DeePar", "IEEE INFOCOM Workshops", 2019, seed="002", aliases=("deepar",),
        ),
        Paper(
            "duan2021",
            ("Yubin Duan", "Jie Wu"),
            "Joint Optimization of DNN Partition and Scheduling for Mobile Cloud Computing",
            "JPS", "ICPP", 2021, seed="003", aliases=("jps",),
        ),
        Paper(
            "zheng2021",
            ("Yaping Zheng",),
            "Research on Cloud-edge Joint Task Inference Algorithm in Edge Intelligence",
            "DMCJIA", "Journal of Computers", 2021, seed="004", aliases=("dmcjia",),
        ),
    )
}

BASELINES: dict[str, Paper] = {
    p.key: p
    for p in (
        Paper(
            "kang2017",
            ("Yiping Kang", "Johann Hauswald", "Cao Gao", "Austin Rovinski", "Trevor Mudge",
             "Jason Mars", "Lingjia Tang"),
            "Neurosurgeon: Collaborative Intelligence Between the Cloud and Mobile Edge",
            "Neurosurgeon", "ASPLOS", 2017, aliases=("neurosurgeon",),
        ),
        Paper(
            "hu2019",
            ("Chuang Hu", "Wei Bao", "Dan Wang", "Fengming Liu"),
            "Dynamic Adaptive DNN Surgery for Inference Acceleration on the Edge",
            "DADS", "IEEE INFOCOM", 2019, aliases=("dads",),
        ),
    )
}


def get_paper(key: str) -> Paper:
    """The paper (or cited baseline) with this key.

    Parameters
    ----------
    key : str
        A paper key such as ``"duan2021"``, or one of its aliases (``"jps"``).

    Returns
    -------
    Paper

    Raises
    ------
    UnknownNameError
        For an unknown key, with close matches.

    Examples
    --------
    >>> get_paper("deepar").key
    'huang2019'
    """
    every = {**PAPERS, **BASELINES}
    if key in every:
        return every[key]
    for p in every.values():
        if key in p.aliases:
            return p
    raise unknown_name("paper", key, sorted(every))


def cite(key: str, *, full: bool = False) -> str:
    """Citation of a paper by key, as users see it.

    Parameters
    ----------
    key : str
        Paper key or alias.
    full : bool
        All authors and the whole title.

    Returns
    -------
    str

    Examples
    --------
    >>> cite("kang2017")
    'Kang et al., Neurosurgeon (ASPLOS 2017)'
    """
    return get_paper(key).cite(full=full)


def paper_of(name: str) -> Paper | None:
    """The paper a prefixed name (experiment id, scenario name, family) belongs to, if any.

    Parameters
    ----------
    name : str
        E.g. ``"shi2021-fig5"``, ``"fidelity-duan2021"`` or ``"huang2019-single"``.

    Returns
    -------
    Paper or None

    Examples
    --------
    >>> paper_of("fidelity-li2022").key
    'li2022'
    >>> paper_of("demo") is None
    True
    """
    parts = name.replace("_", "-").split("-")
    for part in parts:
        for p in PAPERS.values():
            if part == p.key or part in p.aliases:
                return p
    return None

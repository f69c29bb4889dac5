"""Choosing the dtype each cut's tensor crosses the wire in, within a top-1 agreement tolerance.

``neurosurgeon``, ``dads`` and ``jps`` (and their relatives) take ``wire_dtypes`` (a comma-separated
list of candidate wire dtypes, e.g. ``"float16,int8"``; empty: every hop keeps its link's dtype)
and ``min_agreement`` (the least top-1 agreement with the float32 model a compressed dtype must
reach at the cut, measured once per model and cut: :mod:`splitinfer.profile.agreement`). At a
cut, :func:`cut_dtype` picks among the candidates that reach the tolerance the one with the
fewest bytes on the wire (:func:`splitinfer.transfer.wire_bytes`); float32 is always allowed.
A smaller tensor never takes longer on a link of this project's time model (latency + bytes /
rate), and compression costs no compute time in the model, so the choice per cut is also the
latency-optimal one for a planner that times the cut at its own (no-wait) cost.

Readings
--------
* Agreement is measured for one compressed cut at a time; a plan with two compressed hops
  (``three_tier``) needs each hop's cut to reach the tolerance, and the compounded effect of
  both is not measured.
* A model without an agreement table (a paper's cut table, a profile without
  ``<model>.agreement.json``) cannot use a compressed dtype: planning with ``wire_dtypes`` on
  it raises :class:`~splitinfer.errors.NotApplicableError` naming the command that measures it.

Examples
--------
>>> parse_wire_dtypes("int8, float16")
('int8', 'float16')
>>> from splitinfer.profile.agreement import Agreement
>>> a = Agreement("m", ("input", "x", "out"), {"float16": (1.0, 1.0, 1.0), "int8": (0.9, 1.0, 1.0)},
...               {"float16": (0, 0, 0), "int8": (0, 0, 0)}, inputs=10, seed=0)
>>> allowed_dtypes(a, 0, ("float16", "int8"), 0.95), allowed_dtypes(a, 1, ("float16", "int8"), 0.95)
(('float32', 'float16'), ('float32', 'float16', 'int8'))
>>> smallest_dtype(("float32", "float16", "int8"))
'int8'
"""

from __future__ import annotations

from splitinfer.errors import NotApplicableError
from splitinfer.profile.agreement import Agreement
from splitinfer.system.scenario import Scenario
from splitinfer.transfer import WIRE_ITEMSIZE, check_wire_dtype

__all__ = ["parse_wire_dtypes", "check_min_agreement", "allowed_dtypes", "smallest_dtype",
           "cut_dtype", "WireChoice"]


def parse_wire_dtypes(text: str) -> tuple[str, ...]:
    """The candidate dtypes of a ``wire_dtypes`` parameter (``""``: none; ``"all"``: every one).

    Raises
    ------
    ValueError
        An unknown dtype (the message lists the choices).
    """
    if text.strip() == "all":
        return ("float16", "bfloat16", "int8")
    return tuple(check_wire_dtype(d.strip()) for d in text.split(",") if d.strip())


def check_min_agreement(value: float) -> float:
    """``value`` if it is in ``[0, 1]``, else a :class:`ValueError`.

    Examples
    --------
    >>> check_min_agreement(0.99)
    0.99
    """
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"min_agreement must be a fraction in [0, 1], got {value}")
    return value


def allowed_dtypes(agreement: Agreement, cut: int, candidates: tuple[str, ...],
                   min_agreement: float) -> tuple[str, ...]:
    """float32 and the candidates whose measured top-1 agreement at ``cut`` reaches the tolerance."""
    out = ["float32"]
    for d in candidates:
        a = agreement.top1_at(cut, d)
        if d != "float32" and a is not None and a >= min_agreement and d not in out:
            out.append(d)
    return tuple(out)


def smallest_dtype(dtypes: tuple[str, ...]) -> str:
    """The dtype with the fewest bytes per element (the first on ties)."""
    return min(dtypes, key=lambda d: WIRE_ITEMSIZE[d])


class WireChoice:
    """A planner's wire-dtype options on one scenario: :meth:`at` gives the dtype of a cut.

    Parameters
    ----------
    scenario : Scenario
    wire_dtypes : str
        The planner's parameter (:func:`parse_wire_dtypes`).
    min_agreement : float
        The tolerance on top-1 agreement.
    planner : str
        For messages.
    """

    def __init__(self, scenario: Scenario, wire_dtypes: str, min_agreement: float,
                 planner: str) -> None:
        self.candidates = parse_wire_dtypes(wire_dtypes)
        self.min_agreement = check_min_agreement(min_agreement)
        self.scenario = scenario
        self.planner = planner
        self.chosen: dict[str, dict[int, str]] = {}

    @property
    def active(self) -> bool:
        """Whether the planner chooses dtypes at all."""
        return bool(self.candidates)

    def at(self, model: str, cut: int) -> str | None:
        """The dtype of the tensor crossing ``cut`` of ``model`` (``None``: the link's)."""
        if not self.active:
            return None
        m = self.scenario.models[model]
        if m.agreement is None:
            raise NotApplicableError(
                f"planner {self.planner!r}: wire_dtypes needs the top-1 agreement of model "
                f"{model!r} (measure it: splitinfer agreement {model} -o "
                f"<profile folder>/{model}.agreement.json)")
        d = smallest_dtype(allowed_dtypes(m.agreement, cut, self.candidates, self.min_agreement))
        self.chosen.setdefault(model, {})[cut] = d
        return d

    def info(self) -> dict:
        """What was chosen, for the plan's ``info``."""
        return {"candidates": list(self.candidates), "min_agreement": self.min_agreement,
                "per_cut": {m: {str(c): d for c, d in sorted(v.items())}
                           for m, v in self.chosen.items()}}


def cut_dtype(scenario: Scenario, model: str, cut: int, wire_dtypes: str,
              min_agreement: float) -> str | None:
    """One-off :meth:`WireChoice.at` (``None`` when ``wire_dtypes`` is empty)."""
    return WireChoice(scenario, wire_dtypes, min_agreement, "planner").at(model, cut)

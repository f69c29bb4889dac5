"""Consistency check of a measured profile (``splitinfer profile --check``).

A profile measures the same work three ways: the whole model, every layer alone, and the head
and the tail of every cut. On a quiet machine the three agree; on a busy one they do not (the
profiles measured at a load of 6-10 on 2 cores had layer sums between 0.31 and 0.95 of the whole
model and head + tail between 0.51 and 1.40 of it). The planners read only the repaired head curve
(:attr:`~splitinfer.profile.format.Profile.head_latency`; every piece is a difference on it, so
pieces add up to the whole by construction), but a curve measured under load has the wrong
*shape*, and a plan that depends on it is as wrong. :func:`check_profile` measures the
disagreement on the raw numbers and compares it with stated bounds:

``layer sum / whole``
    ``sum(layers[i].latency_s) / whole_latency_s`` must lie in ``[0.8, 1.3]``, with an extra
    allowance of 15 us per timed layer above (each layer run alone pays a call that the forward
    pass shares). Below 0.8 the whole model was slowed by interference that the short layer calls
    escaped; above, the layers were.
``(head + tail) / whole`` per cut
    For every cut, ``head_latency_s + tail_latency_s`` must lie within ``[0.85, 1.2]`` times the
    whole model, with an allowance of 50 us on each side (two module calls instead of one). The
    whole model here is the one timed in the segment pass itself
    (``measurement.segment_whole_latency_s``, recorded by profiles measured since it exists;
    older files use ``whole_latency_s``), so segments are compared with a reference taken under
    the same conditions.
``pass drift``
    When both are recorded, the whole model timed in the segment pass may differ from the one
    timed in the layer pass by at most ``15 %``: more says that the machine's speed changed
    between the passes, and the profile mixes two machines.
``monotone head curve``
    The head of cut ``k + 1`` contains the head of cut ``k``, so the raw head latency may fall
    from one cut to the next by at most the noise: ``3 %`` of the whole model plus 20 us. Every
    larger dip is a violation.

Profiles whose cut latencies were summed from layer latencies (``segment_repeats = 0``) pass the
second and third checks trivially; the first still applies.

Examples
--------
>>> from splitinfer.profile.format import Profile, example_profile_dict
>>> report = check_profile(Profile.from_dict(example_profile_dict()))  # a deliberately noisy toy
>>> round(report.layer_sum_ratio, 3), report.dips
(0.842, [2])
>>> for line in report.violations:
...     print(line)
toy@cpu-1t: cut 1 (after fc): (head + tail) / whole = 1.35 outside [0.85, 1.2] (+-50 us)
toy@cpu-1t: cut 2 (after relu): head latency falls by 0.200 ms (16.7% of the whole model) from cut 1; allowed 3% + 20 us
>>> d = example_profile_dict()
>>> d["whole_latency_s"] = 0.004  # the whole model measured under load
>>> check_profile(Profile.from_dict(d)).violations[0]
'toy@cpu-1t: layer sum / whole = 0.25 outside [0.8, 1.3] (+15 us per layer)'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from splitinfer.profile.format import Profile

__all__ = ["Bounds", "CheckReport", "check_profile", "BOUNDS"]


@dataclass(frozen=True)
class Bounds:
    """The bounds :func:`check_profile` applies (module docstring).

    Attributes
    ----------
    layer_sum : tuple of float
        Allowed range of ``sum(layer latencies) / whole``.
    layer_overhead_s : float
        Extra allowance above the upper bound, per timed layer (seconds).
    split : tuple of float
        Allowed range of ``(head + tail) / whole`` at every cut.
    split_slack_s : float
        Absolute allowance on each side of the split range (seconds).
    dip : float
        Largest allowed fall of the raw head curve between consecutive cuts, as a share of the
        whole model ...
    dip_slack_s : float
        ... plus this absolute allowance (seconds).
    pass_drift : float
        Largest allowed relative difference between the whole model timed in the layer pass and
        in the segment pass.
    """

    layer_sum: tuple[float, float] = (0.8, 1.3)
    layer_overhead_s: float = 15e-6
    split: tuple[float, float] = (0.85, 1.2)
    split_slack_s: float = 50e-6
    dip: float = 0.03
    dip_slack_s: float = 20e-6
    pass_drift: float = 0.15


#: The bounds used by ``splitinfer profile --check`` and the shipped-profile test.
BOUNDS = Bounds()


@dataclass
class CheckReport:
    """What :func:`check_profile` found.

    Attributes
    ----------
    name : str
        ``"<model>@<hardware>"``.
    whole_s : float
        Whole-model latency.
    layer_sum_ratio : float
        ``sum(layer latencies) / whole``.
    split_ratio : numpy.ndarray
        ``(head + tail) / whole`` per cut (the segment pass's own whole model where recorded).
    head_steps : numpy.ndarray
        ``raw_head[k + 1] - raw_head[k]`` (seconds), one per pair of consecutive cuts.
    dips : list of int
        Cuts ``k + 1`` whose raw head is below that of cut ``k`` by more than the tolerance.
    violations : list of str
        One line per violation, each starting with the profile's name.
    """

    name: str
    whole_s: float
    layer_sum_ratio: float
    split_ratio: np.ndarray
    head_steps: np.ndarray
    dips: list[int] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no bound is violated."""
        return not self.violations

    def summary(self) -> str:
        """One line: the three measures and the verdict.

        Examples
        --------
        >>> from splitinfer.profile.format import Profile, example_profile_dict
        >>> check_profile(Profile.from_dict(example_profile_dict())).summary()
        'toy@cpu-1t: layer sum / whole 0.84; (head + tail) / whole 1.00-1.35 over 3 cuts; head curve falls 1 of 2 steps, 1 beyond the tolerance: 2 violation(s)'
        """
        r = self.split_ratio
        falls = int(np.sum(self.head_steps < 0))
        beyond = f"{len(self.dips)} beyond the tolerance" if self.dips else "none beyond the tolerance"
        verdict = "ok" if self.ok else f"{len(self.violations)} violation(s)"
        return (f"{self.name}: layer sum / whole {self.layer_sum_ratio:.2f}; (head + tail) / whole "
                f"{r.min():.2f}-{r.max():.2f} over {r.size} cuts; head curve falls {falls} of "
                f"{self.head_steps.size} steps, {beyond}: {verdict}")


def check_profile(profile: Profile, bounds: Bounds = BOUNDS) -> CheckReport:
    """Check that a profile's layer, segment and whole-model latencies agree (module docstring).

    Parameters
    ----------
    profile : Profile
        The profile (raw measurements are read; nothing is repaired).
    bounds : Bounds
        The bounds; :data:`BOUNDS` by default.

    Returns
    -------
    CheckReport
    """
    name = profile.name
    whole = float(profile.whole_latency_s)
    report_whole = whole if whole > 0 else float("nan")
    layers = profile.layer_latency
    timed = int(np.sum(layers > 0))
    layer_sum = float(layers.sum())
    ratio = layer_sum / report_whole
    head, tail = profile.raw_head_latency, profile.raw_tail_latency
    same_pass = (profile.measurement or {}).get("segment_whole_latency_s")
    ref = float(same_pass) if same_pass else whole
    split = (head + tail) / (ref if ref > 0 else float("nan"))
    steps = np.diff(head)
    report = CheckReport(name, whole, ratio, split, steps)
    v = report.violations
    if not whole > 0:
        v.append(f"{name}: whole_latency_s is 0; nothing to compare with")
        return report
    lo, hi = bounds.layer_sum
    if layer_sum < lo * whole or layer_sum > hi * whole + timed * bounds.layer_overhead_s:
        v.append(f"{name}: layer sum / whole = {ratio:.2f} outside [{lo:g}, {hi:g}] "
                 f"(+{bounds.layer_overhead_s * 1e6:.0f} us per layer)")
    if same_pass and abs(ref / whole - 1.0) > bounds.pass_drift:
        v.append(f"{name}: the whole model took {ref / whole:.2f} x as long in the segment pass "
                 f"as in the layer pass (allowed +-{bounds.pass_drift:.0%}): the machine's speed "
                 "changed during the measurement; re-measure on a quiet machine")
    lo, hi = bounds.split
    slack = bounds.split_slack_s
    for k, cut in enumerate(profile.cuts):
        both = head[k] + tail[k]
        if both < lo * ref - slack or both > hi * ref + slack:
            v.append(f"{name}: cut {k} (after {cut.after or 'input'}): (head + tail) / whole = "
                     f"{split[k]:.2f} outside [{lo:g}, {hi:g}] (+-{slack * 1e6:.0f} us)")
    tol = bounds.dip * whole + bounds.dip_slack_s
    for k, step in enumerate(steps):
        if step < -tol:
            report.dips.append(k + 1)
            cut = profile.cuts[k + 1]
            v.append(f"{name}: cut {k + 1} (after {cut.after}): head latency falls by "
                     f"{-step * 1e3:.3f} ms ({-step / whole:.1%} of the whole model) from cut {k}; "
                     f"allowed {bounds.dip:.0%} + {bounds.dip_slack_s * 1e6:.0f} us")
    return report

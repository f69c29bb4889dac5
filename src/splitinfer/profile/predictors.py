"""Latency predictors of Duan & Wu 2021 section 6.1 (the JPS prototype).

Duan & Wu (ICPP 2021), section 6.1: "we build a lookup table for computation time
considering the local computation time stable [...] we use a simple linear regression model to
estimate the communication delay [...] t_n = w0 + w1 * r, where w0, w1 are regression parameters
and r = s/b is the ratio of the message size s to the bandwidth b. w0 represents the latency of
setting up the communication channel."

* :class:`LatencyLookupTable` — local (head) computation time per cut, per ``model@hardware``,
  built from measured :class:`~splitinfer.profile.format.Profile` objects.
* :class:`LinearTransferModel` — ``t = w0 + w1 * r`` fitted by least squares.

Reading of ``r``: the paper writes ``r = s/b`` without units. Here ``s`` is in bytes and ``b`` in
bit/s, and ``r = 8 s / b`` is the ideal serialisation time in seconds, so ``w1`` is dimensionless
(1 for a link that delivers exactly its nominal rate, more for protocol overhead) and ``w0`` is in
seconds. Both are constrained to be non-negative (a channel cannot have negative set-up time or
carry data faster than instantaneously), which bounded least squares
(:func:`scipy.optimize.lsq_linear`) enforces; on data that satisfy the model it returns the
ordinary least-squares solution.

Examples
--------
>>> m = LinearTransferModel().fit([1e3, 1e6, 2e6], [8e6, 8e6, 8e6], [0.011, 1.01, 2.01])
>>> round(m.w0, 6), round(m.w1, 6)
(0.01, 1.0)
>>> round(float(m.predict(5e5, 4e6)), 6)
1.01
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from splitinfer.errors import unknown_name
from splitinfer.profile.format import Profile, ProfileError
from splitinfer.transfer import transfer_time

__all__ = ["LatencyLookupTable", "LinearTransferModel"]


@dataclass
class LinearTransferModel:
    """Communication time ``t = w0 + w1 * (8 s / b)`` (Duan & Wu 2021 section 6.1).

    Parameters
    ----------
    w0 : float
        Channel set-up latency in seconds.
    w1 : float
        Multiplier of the ideal serialisation time ``8 s / b`` (dimensionless).

    Attributes
    ----------
    rmse_s : float or None
        Root-mean-square residual of the last :meth:`fit`, seconds.
    n_samples : int
        Number of samples of the last fit (0 if set by hand).

    Examples
    --------
    >>> LinearTransferModel(w0=0.002, w1=1.0).predict([1000, 2000], 8e6).tolist()
    [0.003, 0.004]
    """

    w0: float = 0.0
    w1: float = 1.0
    rmse_s: float | None = None
    n_samples: int = 0

    @staticmethod
    def ratio(size_bytes: Any, bandwidth_bps: Any) -> np.ndarray:
        """``r = 8 s / b``: ideal transfer time in seconds (broadcasting arrays)."""
        s = np.asarray(size_bytes, dtype=np.float64)
        b = np.asarray(bandwidth_bps, dtype=np.float64)
        if np.any(b <= 0):
            raise ValueError("bandwidth must be positive (bit/s)")
        if np.any(s < 0):
            raise ValueError("message size must not be negative (bytes)")
        return transfer_time(s, b)

    def fit(self, size_bytes: Any, bandwidth_bps: Any, time_s: Any) -> LinearTransferModel:
        """Fit ``w0, w1 >= 0`` by least squares to measured transfers.

        Parameters
        ----------
        size_bytes, bandwidth_bps, time_s : array_like
            One entry per measured message (broadcast together): size, link bandwidth and the
            measured communication time (Duan & Wu 2021 uses the request round trip ``t_d``).

        Returns
        -------
        LinearTransferModel
            ``self``, fitted.

        Raises
        ------
        ValueError
            With fewer than two samples or fewer than two distinct ratios.
        """
        from scipy.optimize import lsq_linear

        r = self.ratio(size_bytes, bandwidth_bps)
        t = np.asarray(time_s, dtype=np.float64)
        r, t = np.broadcast_arrays(r, t)
        r, t = r.ravel(), t.ravel()
        if r.size < 2 or np.unique(r).size < 2:
            raise ValueError("need at least two samples with different size/bandwidth ratios")
        if not np.all(np.isfinite(t)):
            raise ValueError("measured times must be finite")
        design = np.column_stack([np.ones_like(r), r])
        sol = lsq_linear(design, t, bounds=(0.0, np.inf), method="bvls")
        self.w0, self.w1 = (float(v) for v in sol.x)
        self.rmse_s = float(np.sqrt(np.mean((design @ sol.x - t) ** 2)))
        self.n_samples = int(r.size)
        return self

    def predict(self, size_bytes: Any, bandwidth_bps: Any) -> np.ndarray:
        """Predicted communication time in seconds (array, broadcast over the inputs)."""
        self.ratio(size_bytes, bandwidth_bps)  # checks the inputs
        return transfer_time(np.asarray(size_bytes, dtype=np.float64),
                             np.asarray(bandwidth_bps, dtype=np.float64), self.w0, self.w1)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON-ready).

        Examples
        --------
        >>> LinearTransferModel(0.01, 1.2).to_dict()["w1"]
        1.2
        """
        return {"kind": "linear_transfer", "w0": self.w0, "w1": self.w1,
                "rmse_s": self.rmse_s, "n_samples": self.n_samples}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearTransferModel:
        """Inverse of :meth:`to_dict`.

        Examples
        --------
        >>> LinearTransferModel.from_dict({"w0": 0.01, "w1": 1.2})
        LinearTransferModel(w0=0.01, w1=1.2, rmse_s=None, n_samples=0)
        """
        try:
            w0, w1 = float(data["w0"]), float(data["w1"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"linear transfer model needs numbers w0 and w1: {exc}") from None
        if w0 < 0 or w1 < 0:
            raise ValueError(f"w0 and w1 must be >= 0, got w0={w0}, w1={w1}")
        rmse = data.get("rmse_s")
        return cls(w0, w1, None if rmse is None else float(rmse), int(data.get("n_samples", 0)))


@dataclass
class LatencyLookupTable:
    """Local computation time per cut, keyed by ``"<model>@<hardware>"`` (Duan & Wu 2021 section 6.1).

    Each entry is the repaired (non-decreasing) head latency curve of a profile,
    :attr:`Profile.head_latency`: ``head(key, k)`` is the time ``f(k)`` of running the head of cut
    ``k`` locally; ``segment(key, a, b)`` the time of the piece between two cuts.

    Examples
    --------
    >>> from splitinfer.profile.format import Profile, example_profile_dict
    >>> table = LatencyLookupTable.from_profiles([Profile.from_dict(example_profile_dict())])
    >>> table.keys(), table.head("toy@cpu-1t", 1)
    (['toy@cpu-1t'], 0.0015)
    >>> LatencyLookupTable.from_dict(table.to_dict()) == table
    True
    """

    entries: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_profiles(cls, profiles: Iterable[Profile]) -> LatencyLookupTable:
        """Build the table from profiles (one entry per ``profile.name``)."""
        table = cls()
        for p in profiles:
            table.add(p)
        return table

    def add(self, profile: Profile) -> None:
        """Add (or replace) the entry of ``profile.name``."""
        self.entries[profile.name] = np.array(profile.head_latency, dtype=np.float64)

    def keys(self) -> list[str]:
        """Sorted entry names."""
        return sorted(self.entries)

    def curve(self, key: str) -> np.ndarray:
        """Head latency per cut of ``key`` (seconds)."""
        if key not in self.entries:
            raise unknown_name("lookup-table entry", key, self.keys())
        return self.entries[key]

    def head(self, key: str, cut: int) -> float:
        """Local time of the head of cut ``cut`` (seconds)."""
        return float(self.curve(key)[cut])

    def segment(self, key: str, a: int, b: int) -> float:
        """Time of the piece from cut ``a`` to cut ``b`` (seconds), ``a <= b``."""
        curve = self.curve(key)
        if not (0 <= a <= b < curve.size):
            raise IndexError(f"need 0 <= a <= b < {curve.size}, got a={a}, b={b}")
        return float(curve[b] - curve[a])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyLookupTable):
            return NotImplemented
        return self.keys() == other.keys() and all(
            np.array_equal(self.entries[k], other.entries[k]) for k in self.entries)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary ``{"kind": "lookup_table", "entries": {key: [seconds...]}}``."""
        return {"kind": "lookup_table",
                "entries": {k: self.entries[k].tolist() for k in self.keys()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyLookupTable:
        """Inverse of :meth:`to_dict`; checks every curve is non-negative and non-decreasing."""
        entries = {}
        for key, values in dict(data.get("entries", {})).items():
            arr = np.asarray(values, dtype=np.float64)
            if arr.ndim != 1 or np.any(arr < 0) or np.any(np.diff(arr) < 0):
                raise ProfileError(f"lookup table entry {key!r}: expected a non-negative, "
                                   "non-decreasing list of seconds")
            entries[key] = arr
        return cls(entries)

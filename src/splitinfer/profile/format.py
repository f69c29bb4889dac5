"""The profile file: one model measured on one piece of hardware (format ``splitinfer.profile/1``).

A :class:`Profile` is what the planning layers read instead of running torch: per layer the FLOPs,
the bytes of its output and parameters and its measured latency; per cut point the bytes sent,
the FLOPs of the head and the measured head and tail latencies; and how all of it was measured.
The file format is documented field by field in ``docs/profile-format.md``. This module does not
import torch.

Repair of noisy head curves
---------------------------
The head of cut ``k + 1`` contains the head of cut ``k`` (cuts are ordered and heads are nested,
Duan & Wu 2021 section 3: "f is monotonically increasing"), so the true head latency is non-decreasing in
``k``. Measured on a busy machine it is not always. :attr:`Profile.head_latency` is therefore the
*isotonic regression* (least-squares projection onto non-decreasing sequences,
:func:`scipy.optimize.isotonic_regression`, pool-adjacent-violators) of the raw measured curve,
with the end points pinned where they are known: the head of ``cuts[0]`` runs nothing and costs
0 s. Isotonic regression is preferred to a running maximum because one slow outlier would lift
every later cut under a running maximum, while the least-squares fit pools it with its neighbours.
The raw measurements stay available as :attr:`Profile.raw_head_latency` and
:attr:`Profile.raw_tail_latency` and are what the file stores.

Segments
--------
The latency of the piece between cuts ``a`` and ``b`` (the nodes in the head of ``b`` but not in
the head of ``a``) is read as ``head_latency[b] - head_latency[a]`` on the repaired curve
(:meth:`Profile.segment_latency`). Summing per-layer latencies would count the Python and
dispatch overhead of every call and miss the cache warmth that a real run has; a difference of
measured prefix times keeps what the layers cost *inside* a real forward pass, and the pieces of
any chain of cuts add up exactly to the whole model (``segment(0, a) + segment(a, b) +
segment(b, K) == head_latency[K]``), so a plan can never gain time just by cutting. The tail of
cut ``a`` is accordingly ``segment_latency(a, K)`` (:attr:`Profile.tail_latency`).

Examples
--------
>>> p = Profile.from_dict(example_profile_dict())
>>> p.num_cuts, p.name
(3, 'toy@cpu-1t')
>>> p.head_latency.tolist()
[0.0, 0.0015, 0.0015]
>>> p.segment_latency(0, 2)
0.0015
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.profile.records import (
    FORMAT,
    CutTiming,
    LayerTiming,
    ProfileError,
)
from splitinfer.profile.validation import validate_profile_dict

__all__ = [
    "FORMAT",
    "ProfileError",
    "LayerTiming",
    "CutTiming",
    "Profile",
    "example_profile_dict",
]


def _readonly(values: list[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class Profile:
    """One model measured on one piece of hardware (see the module docstring).

    Build one with :func:`splitinfer.profile.measure_profile`, read one with :meth:`load` or
    :func:`splitinfer.profile.load_profile`. Instances are immutable; array accessors return
    read-only NumPy arrays.

    Examples
    --------
    >>> p = Profile.from_dict(example_profile_dict())
    >>> p.transfer_bytes.tolist(), p.head_flops.tolist()
    ([3072.0, 40.0, 40.0], [0.0, 1000.0, 1000.0])
    >>> p.tail_latency.tolist()
    [0.0015, 0.0, 0.0]
    >>> Profile.from_dict(p.to_dict()) == p
    True
    """

    model: str
    input_shape: tuple[int, ...]
    dtype: str
    batch: int
    hardware: Mapping[str, Any]
    measurement: Mapping[str, Any]
    flops: int
    macs: int
    input_bytes: int
    output_bytes: int
    layers: tuple[LayerTiming, ...]
    edges: tuple[tuple[int, int], ...]
    cuts: tuple[CutTiming, ...]
    whole_latency_s: float
    whole_latency_median_s: float
    whole_latency_std_s: float
    format: str = field(default=FORMAT)

    # ----------------------------------------------------------------- identity
    @property
    def hardware_name(self) -> str:
        """The hardware's short name, e.g. ``"cpu-1t"``."""
        return str(self.hardware["name"])

    @property
    def name(self) -> str:
        """``"<model>@<hardware>"``, the name shipped profiles are loaded by."""
        return f"{self.model}@{self.hardware_name}"

    @property
    def num_cuts(self) -> int:
        """Number of cut points (``cuts[0]`` sends the input, ``cuts[-1]`` runs everything)."""
        return len(self.cuts)

    # ---------------------------------------------------------------- per cut
    @cached_property
    def transfer_bytes(self) -> np.ndarray:
        """Bytes that cross each cut, shape ``(num_cuts,)``."""
        return _readonly([c.transfer_bytes for c in self.cuts])

    @cached_property
    def head_flops(self) -> np.ndarray:
        """FLOPs of the head of each cut, shape ``(num_cuts,)``."""
        return _readonly([c.head_flops for c in self.cuts])

    @cached_property
    def raw_head_latency(self) -> np.ndarray:
        """Head latency per cut as measured (seconds, may be non-monotone)."""
        return _readonly([c.head_latency_s for c in self.cuts])

    @cached_property
    def raw_tail_latency(self) -> np.ndarray:
        """Tail latency per cut as measured (seconds)."""
        return _readonly([c.tail_latency_s for c in self.cuts])

    @cached_property
    def head_latency(self) -> np.ndarray:
        """Repaired head latency per cut: non-decreasing, 0 at ``cuts[0]`` (module docstring)."""
        return _readonly(repair_monotone(self.raw_head_latency))

    @cached_property
    def tail_latency(self) -> np.ndarray:
        """Tail latency per cut on the repaired curve: ``head_latency[-1] - head_latency``."""
        head = self.head_latency
        return _readonly(head[-1] - head)

    @cached_property
    def layer_latency(self) -> np.ndarray:
        """Per-layer latency (20 % quantile of the repeats, seconds), shape ``(len(layers),)``."""
        return _readonly([layer.latency_s for layer in self.layers])

    def _check_pair(self, a: int, b: int) -> None:
        n = self.num_cuts
        if not (0 <= a <= b < n):
            raise IndexError(f"need 0 <= a <= b < {n} for a segment, got a={a}, b={b}")

    def segment_latency(self, a: int, b: int) -> float:
        """Latency of the piece from cut ``a`` to cut ``b`` (``head_latency[b] - head_latency[a]``).

        Parameters
        ----------
        a, b : int
            Cut indices with ``0 <= a <= b < num_cuts``.

        Returns
        -------
        float
            Seconds; 0 when ``a == b``.

        Examples
        --------
        >>> p = Profile.from_dict(example_profile_dict())
        >>> p.segment_latency(1, 2), p.segment_latency(0, 1)
        (0.0, 0.0015)
        """
        self._check_pair(a, b)
        return float(self.head_latency[b] - self.head_latency[a])

    def segment_flops(self, a: int, b: int) -> float:
        """FLOPs of the piece from cut ``a`` to cut ``b``.

        Examples
        --------
        >>> Profile.from_dict(example_profile_dict()).segment_flops(0, 2)
        1000.0
        """
        self._check_pair(a, b)
        return float(self.head_flops[b] - self.head_flops[a])

    # ------------------------------------------------------------ conversion
    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dictionary of format ``splitinfer.profile/1``."""
        return {
            "format": self.format,
            "model": self.model,
            "input_shape": list(self.input_shape),
            "dtype": self.dtype,
            "batch": self.batch,
            "hardware": dict(self.hardware),
            "measurement": json.loads(json.dumps(dict(self.measurement))),
            "flops": self.flops,
            "macs": self.macs,
            "input_bytes": self.input_bytes,
            "output_bytes": self.output_bytes,
            "layers": [vars(layer).copy() for layer in self.layers],
            "edges": [list(e) for e in self.edges],
            "cuts": [vars(c).copy() for c in self.cuts],
            "whole_latency_s": self.whole_latency_s,
            "whole_latency_median_s": self.whole_latency_median_s,
            "whole_latency_std_s": self.whole_latency_std_s,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "<profile>") -> Profile:
        """Validate a dictionary of format ``splitinfer.profile/1`` and build a :class:`Profile`.

        Parameters
        ----------
        data : dict
            The parsed JSON.
        source : str
            Where it came from (a file name), used in error messages.

        Raises
        ------
        ProfileError
            Naming ``source`` and the field path, e.g. ``"p.json: cuts[2].transfer_bytes: ..."``.

        Examples
        --------
        >>> d = example_profile_dict()
        >>> d["layers"][0]["latency_s"] = -1
        >>> Profile.from_dict(d, "toy.json")
        Traceback (most recent call last):
        ...
        splitinfer.profile.records.ProfileError: toy.json: layers[0].latency_s: expected a finite number >= 0, got -1
        """
        return cls(**validate_profile_dict(data, source))

    def save(self, path: str | Path) -> Path:
        """Write the profile as indented JSON and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Read and validate a profile file.

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        ProfileError
            If it is not a readable regular file, larger than ``SPLITINFER_MAX_FILE_BYTES``, not
            UTF-8, not valid JSON (or nested too deeply) or not a valid profile: one line that
            names the file (and the field). The file is read in bounded time and memory
            (:func:`splitinfer.datafile.load_data_file`).
        """
        from splitinfer.datafile import load_data_file

        path = Path(path)
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(2, "profile file does not exist", str(path))
        data = load_data_file(path, what="profile", error=ProfileError, json_format=True)
        return cls.from_dict(data, str(path))


def repair_monotone(raw: np.ndarray) -> np.ndarray:
    """Repair a measured head-latency curve: non-decreasing, starting at 0.

    The first point is the head of ``cuts[0]``, which runs nothing; it is pinned to 0 and the
    rest is replaced by its isotonic (least-squares non-decreasing) regression. See the module
    docstring for why isotonic regression rather than a running maximum.

    Examples
    --------
    >>> repair_monotone(np.array([0.0, 2.0, 1.0, 3.0])).tolist()
    [0.0, 1.5, 1.5, 3.0]
    >>> repair_monotone(np.array([0.0, 1.0, 9.0, 2.0, 3.0])).tolist()
    [0.0, 1.0, 4.666666666666667, 4.666666666666667, 4.666666666666667]
    """
    from scipy.optimize import isotonic_regression

    raw = np.asarray(raw, dtype=np.float64)
    out = np.zeros_like(raw)
    if raw.size > 1:
        out[1:] = np.maximum(isotonic_regression(raw[1:], increasing=True).x, 0.0)
    return out


def example_profile_dict() -> dict[str, Any]:
    """A tiny valid profile (two layers, three cuts) for examples and tests.

    Examples
    --------
    >>> example_profile_dict()["format"]
    'splitinfer.profile/1'
    """
    layer = {"flops": 1000, "macs": 500, "out_bytes": 40, "param_bytes": 4000}
    return {
        "format": FORMAT,
        "model": "toy",
        "input_shape": [3, 16, 16],
        "dtype": "float32",
        "batch": 1,
        "hardware": {"name": "cpu-1t", "device": "cpu", "cpu_model": "example", "threads": 1,
                     "torch": "0", "torchvision": "0", "python": "3.11", "platform": "x",
                     "date": "2025-01-01T00:00:00+00:00"},
        "measurement": {"repeats": 10, "warmup": 1, "timer": "time.perf_counter_ns"},
        "flops": 1000,
        "macs": 500,
        "input_bytes": 3072,
        "output_bytes": 40,
        "layers": [
            {"name": "fc", "op": "Linear", **layer, "latency_s": 0.001,
             "latency_median_s": 0.001, "latency_std_s": 0.0001},
            {"name": "relu", "op": "relu", "flops": 0, "macs": 0, "out_bytes": 40,
             "param_bytes": 0, "latency_s": 0.00001, "latency_median_s": 0.00001,
             "latency_std_s": 0.0},
        ],
        "edges": [[0, 1]],
        "cuts": [
            {"index": 0, "after": None, "position": 0, "transfer_bytes": 3072, "head_flops": 0,
             "head_latency_s": 0.0, "tail_latency_s": 0.0012},
            {"index": 1, "after": "fc", "position": 1, "transfer_bytes": 40, "head_flops": 1000,
             "head_latency_s": 0.0016, "tail_latency_s": 0.00002},
            {"index": 2, "after": "relu", "position": 2, "transfer_bytes": 40, "head_flops": 1000,
             "head_latency_s": 0.0014, "tail_latency_s": 0.0},
        ],
        "whole_latency_s": 0.0012,
        "whole_latency_median_s": 0.0012,
        "whole_latency_std_s": 0.0001,
    }

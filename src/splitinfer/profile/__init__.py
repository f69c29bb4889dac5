"""Profiles: FLOPs, bytes and measured latency of a model on one piece of hardware.

The planning layers read :class:`Profile` objects (from shipped files or saved JSON) and never
import torch; :func:`measure_profile` (in :mod:`splitinfer.profile.measure`, loaded on first use)
traces a model with :mod:`splitinfer.graph` and measures it with torch.

* :mod:`~splitinfer.profile.format` — the :class:`Profile` type and file format
  ``splitinfer.profile/1`` (``docs/profile-format.md``), validation, repair of noisy head curves.
* :mod:`~splitinfer.profile.shipped` — :func:`load_profile` by path or ``"<model>@<hardware>"``.
* :mod:`~splitinfer.profile.measure` — :func:`measure_profile`.
* :mod:`~splitinfer.profile.predictors` — lookup table and linear transfer model (Duan & Wu 2021 §6.1).
* :mod:`~splitinfer.profile.table` — rows for the CLI tables.

Examples
--------
>>> from splitinfer.profile import Profile
>>> from splitinfer.profile.format import example_profile_dict
>>> p = Profile.from_dict(example_profile_dict())
>>> p.num_cuts == len(p.transfer_bytes) and bool((p.head_latency[1:] >= p.head_latency[:-1]).all())
True
"""

from __future__ import annotations

from typing import Any

from splitinfer.profile.format import FORMAT, CutTiming, LayerTiming, Profile, ProfileError
from splitinfer.profile.predictors import LatencyLookupTable, LinearTransferModel
from splitinfer.profile.shipped import list_shipped_profiles, load_profile
from splitinfer.profile.table import cut_table, layer_table

__all__ = [
    "FORMAT",
    "Profile",
    "ProfileError",
    "LayerTiming",
    "CutTiming",
    "load_profile",
    "list_shipped_profiles",
    "measure_profile",
    "cut_table",
    "layer_table",
    "LatencyLookupTable",
    "LinearTransferModel",
]


def __getattr__(name: str) -> Any:
    if name == "measure_profile":
        from splitinfer.profile.measure import measure_profile

        return measure_profile
    raise AttributeError(f"module 'splitinfer.profile' has no attribute {name!r}")

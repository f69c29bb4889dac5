"""The cut-profile figure: head compute time (bars) and transfer size (line) per cut point.

This is the figure every paper of the project draws to motivate partitioning: Shi et al. 2021 Fig. 5-6
(VGG16 per-layer time and time at each partition point), Duan & Wu 2021 Fig. 4 (AlexNet time per
partition layer) and Zheng 2021 Fig. 4 (ResNet34 computation and output data per layer). Bars give
the local (head) time of each cut on the profile's hardware (the repaired, non-decreasing curve
of :attr:`splitinfer.profile.Profile.head_latency`; the raw measurement is drawn as dots), the
line on the second axis the bytes that cross the cut. It is drawn with matplotlib's Agg canvas
directly, without pyplot, so it works headless and leaves no global state.

Examples
--------
>>> import tempfile, pathlib
>>> from splitinfer.profile.format import Profile, example_profile_dict
>>> out = pathlib.Path(tempfile.mkdtemp()) / "cuts.png"
>>> plot_cut_profile(Profile.from_dict(example_profile_dict()), out).stat().st_size > 0
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_cut_profile"]


def _size_unit(max_bytes: float) -> tuple[float, str]:
    for factor, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if max_bytes >= factor:
            return factor, unit
    return 1.0, "B"


def plot_cut_profile(profile: Any, path: str | Path, *, title: str | None = None,
                     dpi: int = 120) -> Path:
    """Draw head latency (bars) and transfer size (line, right axis) per cut and save it.

    Parameters
    ----------
    profile : splitinfer.profile.Profile
        The measured profile.
    path : str or pathlib.Path
        Output file; the format follows the suffix (``.png``, ``.pdf``, ``.svg``).
    title : str, optional
        Figure title; ``"<model> on <hardware>"`` by default.
    dpi : int
        Resolution for raster formats.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from splitinfer.profile.table import cut_table

    rows = cut_table(profile)
    k = np.arange(len(rows))
    head_ms = np.array([r["head_latency_s"] for r in rows]) * 1e3
    raw_ms = np.array([r["raw_head_latency_s"] for r in rows]) * 1e3
    size = np.array([r["transfer_bytes"] for r in rows], dtype=float)
    factor, unit = _size_unit(float(size.max()) if size.size else 0.0)

    width = min(max(6.0, 0.28 * len(rows) + 2.0), 24.0)
    fig = Figure(figsize=(width, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar(k, head_ms, color="tab:blue", alpha=0.75, label="head (local) time")
    ax.plot(k, raw_ms, ".", color="navy", markersize=4, label="head time, raw measurement")
    ax.set_ylabel("head compute time [ms]")
    ax.set_xlabel("cut point (after layer)")
    ax.set_xticks(k, [f"{r['index']}: {r['after']}" for r in rows], rotation=75, ha="right",
                  fontsize=7 if len(rows) > 20 else 8)
    ax2 = ax.twinx()
    ax2.plot(k, size / factor, "-o", color="tab:red", markersize=3, label="transfer size")
    ax2.set_ylabel(f"transfer size [{unit}]")
    ax2.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="upper center", fontsize=8)
    hw = getattr(profile, "hardware_name", "?")
    ax.set_title(title or f"{profile.model} on {hw}: time and transfer size per cut point")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path

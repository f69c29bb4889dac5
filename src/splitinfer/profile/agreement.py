"""Top-1 agreement of a model when a cut's tensor crosses the wire in a smaller dtype.

Sending the tensor that crosses a cut as float16, bfloat16 or int8 (:mod:`splitinfer.codec`)
shrinks the transfer but perturbs the model's output. Planners that choose the dtype of each cut
(``neurosurgeon``, ``dads``, ``jps`` with ``wire_dtypes=...``) allow a dtype at a cut only when
the model's **top-1 agreement** with the float32 model there reaches a stated tolerance. The
agreement is measured once per model and cut, on seeded inputs, and stored in a small JSON file
beside the profile (``<model>.agreement.json``, format ``splitinfer.agreement/1``) that the
planning layers read without torch (:func:`load_agreement`, :func:`find_agreement`).

Measurement (:func:`measure_agreement`, torch): the model with the runtime's parameters
(:func:`splitinfer.models.get_model` at seed 0, the seed every worker uses) and ``inputs``
seeded random inputs (:func:`splitinfer.models.example_input`); for every cut ``c`` the head
runs to ``c``, each sample's cut tensor goes through the wire round trip of each dtype
(:func:`splitinfer.codec.roundtrip`, per sample: what a one-sample task sends) and the tail runs
on the result. Top-1 agreement is the fraction of inputs whose arg-max output (over the
flattened output of one sample) equals the float32 model's; ``max_abs_diff`` is the largest
absolute output difference. The last cut (everything local) sends nothing: 1 and 0.

Reading: with the seeded initialisation (no pretrained weights) and random inputs this measures
how far the perturbation moves the output of *these* weights; a trained model on real images
can agree more or less. Measure a model you deploy with its own weights and inputs.

Examples
--------
>>> a = Agreement("toy", ("input", "a", "out"), {"float16": (1.0, 0.95, 1.0)},
...               {"float16": (0.0, 0.1, 0.0)}, inputs=20, seed=0)
>>> a.top1_at(1, "float16"), a.top1_at(1, "float32"), a.top1_at(1, "int8")
(0.95, 1.0, None)
>>> Agreement.from_dict(a.to_dict()) == a
True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from splitinfer.errors import SplitInferError
from splitinfer.transfer import WIRE_DTYPES

__all__ = ["Agreement", "AgreementError", "AGREEMENT_FORMAT", "load_agreement",
           "find_agreement", "agreement_path", "measure_agreement"]

AGREEMENT_FORMAT = "splitinfer.agreement/1"
_SUFFIX = ".agreement.json"
#: Most inputs :func:`measure_agreement` takes (they run as one batch: memory grows with them).
MAX_INPUTS = 512


class AgreementError(SplitInferError, ValueError):
    """An agreement file that cannot be read (one line naming the file and the field)."""


@dataclass(frozen=True)
class Agreement:
    """Per-cut top-1 agreement and largest output difference of each compressed wire dtype.

    Parameters
    ----------
    model : str
        Model name.
    cut_names : tuple of str
        The model's cuts (as in its profile), index 0 the raw input.
    top1 : dict
        Wire dtype -> per-cut fraction of inputs whose top-1 equals the float32 model's.
    max_abs_diff : dict
        Wire dtype -> per-cut largest absolute output difference.
    inputs, seed : int
        How many seeded inputs were measured, and their seed.
    provenance : dict
        Library versions, host, the model's parameter seed, date.
    source : str
        The file it was read from (empty when measured in this process).
    """

    model: str
    cut_names: tuple[str, ...]
    top1: dict[str, tuple[float, ...]]
    max_abs_diff: dict[str, tuple[float, ...]]
    inputs: int
    seed: int
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)
    source: str = field(default="", compare=False)

    @property
    def num_cuts(self) -> int:
        """Number of cuts."""
        return len(self.cut_names)

    def top1_at(self, cut: int, dtype: str) -> float | None:
        """Agreement at ``cut`` in ``dtype`` (1 for float32; ``None`` if not measured)."""
        if dtype == "float32":
            return 1.0
        row = self.top1.get(dtype)
        if row is None or not 0 <= cut < len(row):
            return None
        return row[cut]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``splitinfer.agreement/1``)."""
        return {"format": AGREEMENT_FORMAT, "model": self.model, "cut_names": list(self.cut_names),
                "inputs": self.inputs, "seed": self.seed,
                "top1": {k: list(v) for k, v in self.top1.items()},
                "max_abs_diff": {k: list(v) for k, v in self.max_abs_diff.items()},
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, d: Any, where: str = "agreement") -> Agreement:
        """Validate and build (raises :class:`AgreementError` naming the field)."""
        def bad(msg: str) -> AgreementError:
            return AgreementError(f"{where}: {msg}")

        if not isinstance(d, dict) or d.get("format") != AGREEMENT_FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise bad(f"format is {got!r}, expected {AGREEMENT_FORMAT!r}")
        names = d.get("cut_names")
        if not isinstance(names, list) or len(names) < 2 or not all(isinstance(n, str)
                                                                    for n in names):
            raise bad("cut_names: expected a list of at least 2 names")
        tables: dict[str, dict[str, tuple[float, ...]]] = {}
        for key, hi in (("top1", 1.0), ("max_abs_diff", math.inf)):
            rows = d.get(key)
            if not isinstance(rows, dict):
                raise bad(f"{key}: expected an object dtype -> list")
            out = {}
            for dt, row in rows.items():
                if dt not in WIRE_DTYPES or dt == "float32":
                    raise bad(f"{key}.{dt}: not a compressed wire dtype "
                              f"({', '.join(WIRE_DTYPES[1:])})")
                if not isinstance(row, list) or len(row) != len(names) or not all(
                        isinstance(v, int | float) and not isinstance(v, bool)
                        and 0 <= v <= hi for v in row):
                    raise bad(f"{key}.{dt}: expected {len(names)} numbers in [0, {hi}]")
                out[dt] = tuple(float(v) for v in row)
            tables[key] = out
        inputs, seed = d.get("inputs"), d.get("seed")
        if not isinstance(inputs, int) or inputs < 1 or not isinstance(seed, int):
            raise bad("inputs and seed: expected integers (inputs >= 1)")
        model = d.get("model")
        if not isinstance(model, str):
            raise bad("model: expected a name")
        prov = d.get("provenance", {})
        return cls(model, tuple(names), tables["top1"], tables["max_abs_diff"], inputs, seed,
                   prov if isinstance(prov, dict) else {})

    def save(self, path: str | Path) -> None:
        """Write the JSON file."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")


def agreement_path(model: str, folder: str | Path) -> Path:
    """``<folder>/<model>.agreement.json``.

    Examples
    --------
    >>> agreement_path("resnet18", "out").as_posix()
    'out/resnet18.agreement.json'
    """
    return Path(folder) / f"{model}{_SUFFIX}"


def load_agreement(path: str | Path) -> Agreement:
    """Read an agreement file (bounded JSON reader; torch-free).

    Raises
    ------
    AgreementError
        Not a readable agreement file.
    """
    from splitinfer.datafile import load_json_file

    try:
        data = load_json_file(path, what="agreement file")
    except FileNotFoundError:
        raise AgreementError(f"agreement file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise AgreementError(str(exc)) from None
    found = Agreement.from_dict(data, str(path))
    return replace(found, source=str(Path(path).resolve()))


def find_agreement(model: str, beside: list[Path] | tuple[Path, ...] = ()) -> Agreement | None:
    """The agreement of ``model``: ``<model>.agreement.json`` in the first folder of ``beside``
    that has one (a profile's folder), else the shipped one, else ``None``.

    Examples
    --------
    >>> find_agreement("no-such-model") is None
    True
    """
    from importlib import resources

    for folder in beside:
        cand = agreement_path(model, folder)
        if cand.is_file():
            return load_agreement(cand)
    shipped = resources.files("splitinfer").joinpath("data", "profiles", f"{model}{_SUFFIX}")
    if shipped.is_file():
        with resources.as_file(shipped) as real:
            return load_agreement(real)
    return None


def measure_agreement(model: str, inputs: int = 32, seed: int = 0,
                      dtypes: tuple[str, ...] = ("float16", "bfloat16", "int8"),
                      progress: Any = None) -> Agreement:
    """Measure the top-1 agreement of every cut and dtype (module docstring; needs torch).

    Parameters
    ----------
    model : str
        A model of :func:`splitinfer.models.list_models`.
    inputs : int
        Seeded random inputs.
    seed : int
        Their seed.
    dtypes : tuple of str
        Compressed wire dtypes to measure.
    progress : callable, optional
        Called with ``(cut, num_cuts)`` after each cut.
    """
    import datetime
    import platform

    import numpy as np
    import torch

    from splitinfer.codec import roundtrip
    from splitinfer.graph import trace
    from splitinfer.models import example_input, get_model

    for dt in dtypes:
        if dt not in WIRE_DTYPES or dt == "float32":
            raise AgreementError(f"unknown compressed wire dtype {dt!r}; choose from "
                                 f"{', '.join(WIRE_DTYPES[1:])}")
    if not 1 <= inputs <= MAX_INPUTS:
        raise AgreementError(f"inputs must be 1 to {MAX_INPUTS} (the batch runs at once), "
                             f"got {inputs}")
    net = get_model(model, seed=0).eval()
    x = example_input(model, batch=inputs, seed=seed)
    with torch.inference_mode():
        graph = trace(net, example_input(model, batch=1, seed=0), name=model)
        last = len(graph.cuts) - 1

        def run(a: int, b: int, t: torch.Tensor) -> torch.Tensor:
            if a == b:
                return t
            return graph.segment(a, b).eval()(t)  # the batch at once (eval: per sample)

        ref = run(0, last, x).reshape(inputs, -1)
        ref_top = ref.argmax(dim=1)
        top1 = {dt: [1.0] * (last + 1) for dt in dtypes}
        diff = {dt: [0.0] * (last + 1) for dt in dtypes}
        head = x
        for c in range(last):
            head = run(c - 1, c, head) if c > 0 else x  # the head grows one piece at a time
            h = head.numpy()
            for dt in dtypes:
                sent = np.stack([roundtrip(h[i], dt) for i in range(inputs)])
                out = run(c, last, torch.from_numpy(sent)).reshape(inputs, -1)
                top1[dt][c] = float((out.argmax(dim=1) == ref_top).float().mean())
                d = (out - ref).abs().max()
                diff[dt][c] = float(d) if torch.isfinite(d) else float(np.finfo(np.float32).max)
            if progress is not None:
                progress(c + 1, last)
    names = tuple(str(cut.after or "input") for cut in graph.cuts)
    prov = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "host": platform.node(), "param_seed": 0,
            "inputs": f"{inputs} seeded random inputs (splitinfer.models.example_input, seed {seed})",
            "codec": "splitinfer.codec (per-sample round trip)",
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return Agreement(model, names, {k: tuple(v) for k, v in top1.items()},
                     {k: tuple(v) for k, v in diff.items()}, inputs, seed, prov)

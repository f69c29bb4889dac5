"""Runnable pieces of a model between two cut indices, identical on every machine.

Cut indices in plans index :attr:`splitinfer.graph.LayerGraph.cuts`, which are the cuts of the
profile of the same model (both come from :func:`splitinfer.graph.trace`). Every process builds
the model with :func:`splitinfer.models.get_model` at the same seed (``weights=None``, seeded
initialisation), so a device and a worker hold the same parameters; :attr:`ModelPieces.param_hash`
(SHA-256 over the state dict) lets a device check that before it sends anything.

A task with ``samples = N`` (seed 002's N_i) carries an ``(N, ...)`` batch; pieces run the
samples one after another, as the scenario model times them (``compute_time(..., samples=N)``).

Examples
--------
>>> import torch
>>> mp = ModelPieces("lenet5")
>>> mp.num_cuts, mp.expected_shape(0, samples=2)
(13, (2, 1, 28, 28))
>>> x = mp.example(samples=1, seed=0)
>>> torch.equal(mp.run(4, mp.last_cut, mp.run(0, 4, x)), mp.run(0, mp.last_cut, x))
True
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import numpy as np
import torch

from splitinfer.errors import InfeasiblePlanError

__all__ = ["ModelPieces", "load_pieces"]


class ModelPieces:
    """A traced model and the cached ``segment(a, b)`` modules of it (module docstring).

    Parameters
    ----------
    name : str
        A model of :func:`splitinfer.models.list_models`.
    device : {"cpu", "cuda"}
        Where the pieces run.
    seed : int
        Seed of the parameter initialisation (the same on every machine).
    """

    def __init__(self, name: str, device: str = "cpu", seed: int = 0) -> None:
        from splitinfer.graph import trace
        from splitinfer.models import example_input, get_model

        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("a CUDA worker was asked for, but torch sees no CUDA device")
        self.name = name
        self.seed = seed
        self.device = torch.device(device)
        model = get_model(name, seed=seed)
        self.param_hash = _state_hash(model)
        x = example_input(name, batch=1, seed=0)
        with torch.inference_mode():
            self.graph = trace(model, x, name=name)
        self.model = model.to(self.device)
        self.dtype = np.dtype(str(x.dtype).replace("torch.", ""))
        self._shapes = [self._cut_shape(c) for c in range(len(self.graph.cuts))]
        self._segments: dict[tuple[int, int], Any] = {}
        self._lock = threading.Lock()

    @property
    def num_cuts(self) -> int:
        """Number of cut points."""
        return len(self.graph.cuts)

    @property
    def last_cut(self) -> int:
        """The cut that runs the whole model."""
        return self.num_cuts - 1

    def _cut_shape(self, c: int) -> tuple[int, ...]:
        cut = self.graph.cuts[c]
        if c == 0:
            shape = self.graph.input_shape
        else:
            shape = self.graph.node(cut.crossing[0]).out_shape
        return tuple(int(d) for d in shape[1:])  # without the batch dimension

    def expected_shape(self, cut: int, samples: int = 1) -> tuple[int, ...]:
        """Shape of the tensor crossing ``cut`` for a task of ``samples`` inputs."""
        self._check(cut, cut)
        return (samples, *self._shapes[cut])

    def transfer_bytes(self, cut: int, samples: int = 1) -> int:
        """Bytes of the tensor crossing ``cut``."""
        return int(np.prod(self.expected_shape(cut, samples))) * self.dtype.itemsize

    def _check(self, a: int, b: int) -> None:
        if not 0 <= a <= b < self.num_cuts:
            raise InfeasiblePlanError(f"model {self.name!r} has cuts 0..{self.last_cut}; "
                                      f"got the piece ({a}, {b})")

    def segment(self, a: int, b: int) -> Any:
        """The module running cut ``a`` to cut ``b`` (cached, on this object's device)."""
        self._check(a, b)
        with self._lock:
            mod = self._segments.get((a, b))
            if mod is None:
                mod = self.graph.segment(a, b).to(self.device).eval()
                self._segments[(a, b)] = mod
        return mod

    def run(self, a: int, b: int, x: torch.Tensor) -> torch.Tensor:
        """Run the piece ``(a, b)`` on the batch ``x``, one sample after another.

        ``a == b`` returns ``x`` unchanged. The result is on the CPU.
        """
        if a == b:
            self._check(a, b)
            return x
        mod = self.segment(a, b)
        with torch.inference_mode():
            xs = x.to(self.device)
            outs = [mod(xs[i:i + 1]) for i in range(xs.shape[0])]
            out = torch.cat(outs) if len(outs) > 1 else outs[0]
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            return out.cpu()

    def example(self, samples: int = 1, seed: int = 0) -> torch.Tensor:
        """A seeded random input batch of ``samples`` inputs."""
        from splitinfer.models import example_input

        return example_input(self.name, batch=samples, seed=seed)

    def warm(self, cuts: list[tuple[int, int]] | None = None) -> None:
        """Build (and run once) the pieces ``cuts`` so the first task does not pay for it."""
        for a, b in cuts or [(0, self.last_cut)]:
            x = torch.zeros(self.expected_shape(a), dtype=getattr(torch, self.dtype.name))
            self.run(a, b, x)


def _state_hash(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def load_pieces(models: list[str], device: str = "cpu", seed: int = 0) -> dict[str, ModelPieces]:
    """:class:`ModelPieces` for every model name (unknown names raise ``UnknownNameError``)."""
    return {name: ModelPieces(name, device, seed) for name in models}

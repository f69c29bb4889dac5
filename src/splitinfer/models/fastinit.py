"""Build a model without running its random initialisers (for tracing and FLOP counting).

Initialising the weights of large models takes longer than tracing them (about 11 s for the
644 M parameters of ``regnet_y_128gf`` on two cores). Tracing, shapes, bytes and FLOPs do not
depend on the values, so :func:`skip_random_init` turns every ``torch.nn.init`` function and the
in-place random fills (``normal_``, ``uniform_``) into ``zero_()`` while a model is built, and
:func:`zero_parameters` then sets the parameters to zero (never left uninitialised: garbage
memory can hold NaNs or denormals that slow every layer down). Buffers keep the values their
constructors gave them (BatchNorm statistics, the index tables of Swin).

Examples
--------
>>> import torch
>>> with skip_random_init():
...     layer = torch.nn.Linear(3, 2)
>>> bool((zero_parameters(layer).weight == 0).all())
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["skip_random_init", "zero_parameters"]

_RANDOM_FILLS = {torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.random_,
                 torch.Tensor.bernoulli_, torch.Tensor.exponential_, torch.Tensor.geometric_,
                 torch.Tensor.cauchy_, torch.Tensor.log_normal_}


class _SkipInit(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) == "torch.nn.init" or func in _RANDOM_FILLS:
            tensor = args[0] if args else kwargs.get("tensor", kwargs.get("self"))
            with torch.no_grad():
                # zeros, not a no-op: initialisers that reject samples outside a range
                # (trunc_normal_) loop until every value is inside it
                return tensor.zero_()
        return func(*args, **kwargs)


@contextmanager
def skip_random_init() -> Iterator[None]:
    """Inside the block, ``torch.nn.init`` functions and random in-place fills write zeros."""
    with _SkipInit():
        yield


def zero_parameters(model: torch.nn.Module) -> torch.nn.Module:
    """Set every parameter of ``model`` to zero (in place) and return the model."""
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model

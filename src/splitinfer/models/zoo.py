"""Build models of the zoo: :func:`get_model` and :func:`example_input`.

Examples
--------
>>> model = get_model("lenet5")
>>> model.training, model.splitinfer_name, model.splitinfer_input_shape
(False, 'lenet5', (1, 28, 28))
>>> example_input("lenet5", batch=4).shape
torch.Size([4, 1, 28, 28])
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import torch

from splitinfer.models.fastinit import skip_random_init, zero_parameters
from splitinfer.models.registry import ModelSpec, model_info

__all__ = ["get_model", "example_input"]


def _build(spec: ModelSpec, kwargs: dict[str, Any]) -> torch.nn.Module:
    if spec.source == "torchvision":
        import torchvision

        return torchvision.models.get_model(spec.name, weights=None, **{**spec.defaults, **kwargs})
    module, func = spec.builder.split(":")
    return getattr(import_module(module), func)(**{**spec.defaults, **kwargs})


def _shape(spec: ModelSpec, kwargs: dict[str, Any]) -> tuple[int, int, int]:
    c, h, w = spec.input_shape
    if "image_size" in kwargs:  # vision transformers fix their image size when built
        h = w = int(kwargs["image_size"])
    return (c, h, w)


def get_model(name: str, *, seed: int | None = 0, init: bool = True, **kwargs: Any) -> torch.nn.Module:
    """Build a model of the zoo, untrained (``weights=None``), in eval mode.

    Parameters
    ----------
    name : str
        A name from :func:`splitinfer.models.list_models`.
    seed : int or None
        Seed of the random initialisation (the global RNG is left as it was); ``None`` draws
        from the global RNG.
    init : bool
        ``False`` skips the random initialisers and zeroes the parameters: much faster for big
        models, for tracing and FLOP counting where values do not matter.
    **kwargs
        Builder arguments (e.g. ``num_classes``; ``image_size`` for the vision transformers).
        The zoo's own defaults (``aux_logits=False, init_weights=False`` for GoogLeNet and
        Inception v3) apply unless overridden.

    Returns
    -------
    torch.nn.Module
        With attributes ``splitinfer_name`` and ``splitinfer_input_shape`` (``(C, H, W)``),
        which :func:`splitinfer.graph.trace` uses for its name and its error messages.

    Raises
    ------
    UnknownNameError
        For an unknown name (a ``KeyError`` listing close matches).

    Examples
    --------
    >>> get_model("vgg16-cifar").fc
    Linear(in_features=512, out_features=10, bias=True)
    """
    spec = model_info(name)
    kwargs = dict(kwargs)
    if not init:
        with skip_random_init():
            model = _build(spec, kwargs)
        zero_parameters(model)
    elif seed is None:
        model = _build(spec, kwargs)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = _build(spec, kwargs)
    model.eval()
    model.splitinfer_name = name
    model.splitinfer_input_shape = _shape(spec, kwargs)
    return model


def example_input(name: str, batch: int = 1, *, seed: int = 0, small: bool = False,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A random input batch of the model's default shape (standard normal, seeded).

    Parameters
    ----------
    name : str
        Model name.
    batch : int
        Batch size.
    seed : int
        Seed of the values.
    small : bool
        Use the smallest shape the model accepts (``ModelSpec.small_input_shape``; the vision
        transformers need ``get_model(name, **spec.small_kwargs)`` for it).
    dtype : torch.dtype
        Element type.

    Examples
    --------
    >>> example_input("resnet18", small=True).shape
    torch.Size([1, 3, 16, 16])
    """
    spec = model_info(name)
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    shape = spec.small_input_shape if small else spec.input_shape
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((batch, *shape), generator=gen, dtype=dtype)

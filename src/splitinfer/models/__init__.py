"""The model zoo: every torchvision classification model plus the papers' own networks.

``list_models()``, ``input_shape(name)`` and ``model_info(name)`` read a static table and do not
import torch; ``get_model(name)`` (untrained, eval mode) and ``example_input(name)`` do.

Project-defined models: ``lenet5`` (1x28x28), ``tiny-yolov2`` (3x416x416), ``deepface``
(3x152x152, with locally connected layers), ``vgg16-cifar`` (3x32x32).

Examples
--------
>>> from splitinfer.models import list_models, input_shape
>>> input_shape("tiny-yolov2")
(3, 416, 416)
>>> model_info("no-such-model")
Traceback (most recent call last):
...
splitinfer.errors.UnknownNameError: unknown model 'no-such-model' (84 known: see 'splitinfer models')
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from splitinfer.models.registry import ModelSpec, input_shape, list_models, model_info

if TYPE_CHECKING:  # pragma: no cover
    from splitinfer.models.zoo import example_input, get_model

__all__ = ["get_model", "list_models", "input_shape", "example_input", "model_info", "ModelSpec"]


def __getattr__(name: str):
    if name in ("get_model", "example_input"):
        return getattr(import_module("splitinfer.models.zoo"), name)
    raise AttributeError(f"module 'splitinfer.models' has no attribute {name!r}")

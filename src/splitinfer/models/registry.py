"""The static table of the model zoo: names, default input shapes, where each model comes from.

This module does not import torch, so listing the zoo (``splitinfer models``) is instant. The
torchvision part of the table is every classification model of ``torchvision.models`` by its
torchvision name; a test checks it against ``torchvision.models.list_models`` and the default
input sizes against the evaluation crop size of each model's default torchvision weights (the
one exception, ``vit_h_14``, is built by torchvision with ``image_size=224`` when it has no
weights, so its default is 224).

``small_input_shape`` is the smallest input the model accepts (measured), used to trace every
model quickly; ``small_kwargs`` are builder arguments needed for it (the vision transformers
fix their image size at construction).

Examples
--------
>>> "resnet18" in list_models() and "deepface" in list_models()
True
>>> input_shape("inception_v3")
(3, 299, 299)
>>> input_shape("lenet5")
(1, 28, 28)
>>> model_info("tiny-yolov2").source
'splitinfer'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from splitinfer.errors import unknown_name

__all__ = ["ModelSpec", "list_models", "input_shape", "model_info", "TORCHVISION_MODELS", "PAPER_MODELS"]


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the zoo.

    Parameters
    ----------
    name : str
        The name :func:`splitinfer.models.get_model` takes.
    source : str
        ``"torchvision"`` or ``"splitinfer"`` (defined in this package).
    input_shape : tuple of int
        Default input shape ``(C, H, W)`` without the batch dimension.
    small_input_shape : tuple of int
        Smallest ``(C, H, W)`` the model accepts (with ``small_kwargs``).
    family : str
        Architecture family, for tables.
    builder : str
        ``"module:function"`` for models of this package; the torchvision name otherwise.
    defaults : mapping
        Builder arguments always passed (e.g. ``aux_logits=False`` for GoogLeNet).
    small_kwargs : mapping
        Extra builder arguments that ``small_input_shape`` needs.
    papers : tuple of str
        Seed files (``/work/shared/seeds``) whose experiments use the model.
    """

    name: str
    source: str
    input_shape: tuple[int, int, int]
    small_input_shape: tuple[int, int, int]
    family: str
    builder: str
    defaults: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    small_kwargs: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    papers: tuple[str, ...] = ()


def _ro(**kw: Any) -> MappingProxyType:
    return MappingProxyType(dict(kw))


# name -> (default side, smallest accepted side, family); all take 3 channels
_TV: dict[str, tuple[int, int, str]] = {
    "alexnet": (224, 64, "AlexNet"),
    **{f"convnext_{s}": (224, 32, "ConvNeXt") for s in ("tiny", "small", "base", "large")},
    **{f"densenet{d}": (224, 32, "DenseNet") for d in (121, 161, 169, 201)},
    **{f"efficientnet_b{i}": (s, 16, "EfficientNet")
       for i, s in enumerate((224, 240, 288, 300, 380, 456, 528, 600))},
    "efficientnet_v2_s": (384, 16, "EfficientNetV2"),
    "efficientnet_v2_m": (480, 16, "EfficientNetV2"),
    "efficientnet_v2_l": (480, 16, "EfficientNetV2"),
    "googlenet": (224, 16, "GoogLeNet"),
    "inception_v3": (299, 75, "Inception"),
    "maxvit_t": (224, 224, "MaxViT"),
    **{f"mnasnet{s}": (224, 16, "MNASNet") for s in ("0_5", "0_75", "1_0", "1_3")},
    "mobilenet_v2": (224, 16, "MobileNetV2"),
    "mobilenet_v3_large": (224, 16, "MobileNetV3"),
    "mobilenet_v3_small": (224, 16, "MobileNetV3"),
    **{f"regnet_x_{s}": (224, 16, "RegNet")
       for s in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")},
    **{f"regnet_y_{s}": (224, 16, "RegNet")
       for s in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")},
    "regnet_y_128gf": (384, 16, "RegNet"),
    **{f"resnet{d}": (224, 16, "ResNet") for d in (18, 34, 50, 101, 152)},
    "resnext50_32x4d": (224, 16, "ResNeXt"),
    "resnext101_32x8d": (224, 16, "ResNeXt"),
    "resnext101_64x4d": (224, 16, "ResNeXt"),
    **{f"shufflenet_v2_x{s}": (224, 16, "ShuffleNetV2") for s in ("0_5", "1_0", "1_5", "2_0")},
    "squeezenet1_0": (224, 32, "SqueezeNet"),
    "squeezenet1_1": (224, 32, "SqueezeNet"),
    **{f"swin_{s}": (224, 16, "Swin") for s in ("t", "s", "b")},
    **{f"swin_v2_{s}": (256, 16, "SwinV2") for s in ("t", "s", "b")},
    **{f"vgg{d}{bn}": (224, 32, "VGG") for d in (11, 13, 16, 19) for bn in ("", "_bn")},
    **{f"vit_{s}": (224, 32, "ViT") for s in ("b_16", "b_32", "l_16", "l_32")},
    "vit_h_14": (224, 28, "ViT"),
    "wide_resnet50_2": (224, 16, "WideResNet"),
    "wide_resnet101_2": (224, 16, "WideResNet"),
}

_TV_DEFAULTS = {
    "googlenet": _ro(aux_logits=False, init_weights=False),
    "inception_v3": _ro(aux_logits=False, init_weights=False),
}

_TV_PAPERS = {
    "alexnet": ("001", "002", "003", "004"),
    "squeezenet1_0": ("001",),
    "squeezenet1_1": ("001",),
    "vgg16": ("002", "003", "004"),
    "resnet18": ("003",),
    "resnet34": ("004",),
    "mobilenet_v2": ("003",),
    "googlenet": ("003",),
    "inception_v3": ("004",),
}

TORCHVISION_MODELS: tuple[str, ...] = tuple(sorted(_TV))
"""Every torchvision classification model name (checked against torchvision by a test)."""

PAPER_MODELS: dict[str, ModelSpec] = {
    "lenet5": ModelSpec("lenet5", "splitinfer", (1, 28, 28), (1, 28, 28), "LeNet",
                        "splitinfer.models.lenet:lenet5", papers=("002",)),
    "tiny-yolov2": ModelSpec("tiny-yolov2", "splitinfer", (3, 416, 416), (3, 32, 32), "YOLOv2",
                             "splitinfer.models.tiny_yolo:tiny_yolov2", papers=("001",)),
    "deepface": ModelSpec("deepface", "splitinfer", (3, 152, 152), (3, 152, 152), "DeepFace",
                          "splitinfer.models.deepface:deepface", papers=("002",)),
    "vgg16-cifar": ModelSpec("vgg16-cifar", "splitinfer", (3, 32, 32), (3, 32, 32), "VGG",
                             "splitinfer.models.vgg_cifar:vgg16_cifar", papers=("000",)),
}
"""The models this package defines, for the papers' experiments."""


def _tv_spec(name: str) -> ModelSpec:
    side, small, family = _TV[name]
    small_kwargs = _ro(image_size=small) if name.startswith("vit_") else _ro()
    return ModelSpec(name, "torchvision", (3, side, side), (3, small, small), family, name,
                     defaults=_TV_DEFAULTS.get(name, _ro()), small_kwargs=small_kwargs,
                     papers=_TV_PAPERS.get(name, ()))


_SPECS: dict[str, ModelSpec] = {**{n: _tv_spec(n) for n in TORCHVISION_MODELS}, **PAPER_MODELS}


def list_models(source: str | None = None) -> list[str]:
    """Names of every model in the zoo, sorted (without importing torch).

    Parameters
    ----------
    source : {"torchvision", "splitinfer"}, optional
        Only the models of this source.

    Examples
    --------
    >>> list_models("splitinfer")
    ['deepface', 'lenet5', 'tiny-yolov2', 'vgg16-cifar']
    >>> len(list_models("torchvision"))
    80
    """
    if source not in (None, "torchvision", "splitinfer"):
        raise unknown_name("model source", str(source), ["torchvision", "splitinfer"])
    return sorted(n for n, s in _SPECS.items() if source is None or s.source == source)


def model_info(name: str) -> ModelSpec:
    """The zoo entry of ``name``.

    Raises
    ------
    UnknownNameError
        (a ``KeyError``) listing close matches.

    Examples
    --------
    >>> model_info("googlenet").defaults["aux_logits"]
    False
    >>> model_info("resnt18")
    Traceback (most recent call last):
    ...
    splitinfer.errors.UnknownNameError: unknown model 'resnt18'; did you mean: resnet18, resnet152, resnet101? (84 known: see 'splitinfer models')
    """
    try:
        return _SPECS[name]
    except KeyError:
        raise unknown_name("model", name, list_models()) from None


def input_shape(name: str) -> tuple[int, int, int]:
    """Default input shape ``(C, H, W)`` of a model (no batch dimension).

    Examples
    --------
    >>> input_shape("deepface")
    (3, 152, 152)
    """
    return model_info(name).input_shape

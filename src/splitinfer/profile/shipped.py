"""Profiles shipped with the package (``splitinfer/data/profiles/<model>@<hardware>.json``).

They are read with :mod:`importlib.resources`, so they work from a wheel as well as from a source
tree. A name is ``"<model>@<hardware>"``, e.g. ``"resnet18@cpu-1t"``; ``cpu-1t`` is the CPU of the
machine that generated them, at one thread (the project's stand-in for a mobile device; its model
and the load at measurement time are recorded in each file's ``hardware`` and ``measurement``).

A name whose hardware is ``<class>-fitted`` (``"alexnet@k80-fitted"``) is not a file: it is the
GPU server model of :mod:`splitinfer.profile.server_model` applied to the layers of the shipped
``<model>@cpu-1t`` profile (:func:`~splitinfer.profile.server_model.fitted_profile`).

Examples
--------
>>> names = list_shipped_profiles()
>>> all(load_profile(n).name == n for n in names[:2])
True
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from splitinfer.errors import UnknownNameError
from splitinfer.profile.format import Profile

__all__ = ["list_shipped_profiles", "load_profile", "shipped_profile_path"]

_SUFFIX = ".json"
_FITTED_MARK = "-fitted"
#: Hardware of the shipped profiles whose layers a fitted GPU profile is built from.
STRUCTURE_HARDWARE = "cpu-1t"


def _directory() -> resources.abc.Traversable:
    return resources.files("splitinfer").joinpath("data", "profiles")


def list_shipped_profiles() -> list[str]:
    """Names (``"<model>@<hardware>"``) of the shipped profiles, sorted.

    Examples
    --------
    >>> all("@" in name for name in list_shipped_profiles())
    True
    """
    folder = _directory()
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(_SUFFIX)] for p in folder.iterdir()
                  if p.name.endswith(_SUFFIX) and "@" in p.name)


def shipped_profile_path(name: str) -> resources.abc.Traversable:
    """The resource of shipped profile ``name``.

    Raises
    ------
    splitinfer.errors.UnknownNameError
        If there is no such shipped profile; the message lists close names.
    """
    known = list_shipped_profiles()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        raise UnknownNameError(f"unknown profile {name!r}{hint} (shipped profiles: "
                               f"{', '.join(known) or 'none'}; or give a path to a .json file)")
    return _directory().joinpath(name + _SUFFIX)


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a profile from a file path or a shipped name ``"<model>@<hardware>"``.

    A string that names an existing file, or ends in ``.json``, or contains a path separator, is
    read as a path; anything else as a shipped name.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        ``"resnet18@cpu-1t"``, ``"resnet18@h100-fitted"`` (the GPU server model, module
        docstring) or ``"results/resnet18@cuda.json"``.

    Returns
    -------
    Profile

    Raises
    ------
    splitinfer.errors.UnknownNameError
        Unknown shipped name (the message lists the shipped profiles).
    FileNotFoundError
        A path that does not exist.
    splitinfer.profile.ProfileError
        An invalid file.

    Examples
    --------
    >>> load_profile("alexnet@k80-fitted").hardware["gpu_class"]
    'k80'
    >>> load_profile("nosuchmodel@nowhere")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    splitinfer.errors.UnknownNameError: unknown profile 'nosuchmodel@nowhere' (shipped profiles: ...)
    """
    path = Path(name_or_path)
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or path.exists() or text.endswith(_SUFFIX) or "/" in text:
        return Profile.load(path)
    model, _, hardware = text.partition("@")
    if _FITTED_MARK in hardware and text not in list_shipped_profiles():
        from splitinfer.profile.server_model import fitted_profile, parse_hardware

        if parse_hardware(hardware) is not None:
            base = f"{model}@{STRUCTURE_HARDWARE}"
            if base not in list_shipped_profiles():
                raise UnknownNameError(f"cannot build {text!r}: the GPU server model needs the "
                                       f"layers of a shipped profile {base!r}, and there is none")
            return fitted_profile(load_profile(base), hardware)
    resource = shipped_profile_path(text)
    with resources.as_file(resource) as real:
        return Profile.load(real)

"""Error types shared by every layer.

Every error that a user can cause (a bad scenario file, an unknown model or planner name, an
infeasible plan, a malformed message) derives from :class:`SplitInferError`, so the CLI can print
it as one clear line and exit non-zero.

Examples
--------
>>> issubclass(ScenarioError, SplitInferError) and issubclass(UnknownNameError, KeyError)
True
"""

from __future__ import annotations

import difflib

__all__ = [
    "SplitInferError",
    "ScenarioError",
    "UnknownNameError",
    "InfeasiblePlanError",
    "NotApplicableError",
    "unknown_name",
]


class SplitInferError(Exception):
    """Base class of the errors a user can cause."""


class ScenarioError(SplitInferError, ValueError):
    """An invalid scenario: the message names the file, the field path and what was expected."""


class UnknownNameError(SplitInferError, KeyError):
    """An unknown model, planner, profile or experiment name."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain message
        return str(self.args[0]) if self.args else ""


class InfeasiblePlanError(SplitInferError, ValueError):
    """A plan that cannot be executed on its scenario (unknown node, missing link, bad cut...)."""


class NotApplicableError(SplitInferError, ValueError):
    """A planner asked to plan a scenario outside its model (e.g. a paper's algorithm that needs
    a divisible cloud, or slots); the message says what is missing."""


#: The command that lists the known names of each kind (named in "unknown name" errors).
LIST_COMMANDS = {"model": "splitinfer models", "planner": "splitinfer planners",
                 "scenario": "splitinfer scenarios", "experiment": "splitinfer reproduce --list"}


def unknown_name(kind: str, name: str, known: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build an :class:`UnknownNameError` that lists close matches and where to see every name.

    Examples
    --------
    >>> str(unknown_name("model", "resnt18", ["resnet18", "alexnet"]))
    "unknown model 'resnt18'; did you mean: resnet18? (2 known: see 'splitinfer models')"
    >>> str(unknown_name("colour", "bleu", ["blue"]))
    "unknown colour 'bleu'; did you mean: blue? (1 known: blue)"
    """
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    where = (f"see '{LIST_COMMANDS[kind]}'" if kind in LIST_COMMANDS
             else ", ".join(map(str, known)) if len(known) <= 12 else "see the list command")
    return UnknownNameError(f"unknown {kind} {name!r}{hint} ({len(known)} known: {where})")

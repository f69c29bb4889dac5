"""Experiments: reproductions of the papers' figures and tables, and parameter sweeps.

Each paper module (``shi2021``, ``li2022``, ``deepar``, ``duan2021``, ``zheng2021``) registers its
experiments in :mod:`splitinfer.experiments.registry`.
"""

from splitinfer.experiments.registry import (
    Experiment,
    experiment,
    get_experiment,
    list_experiments,
    plotter,
    summarizer,
)
from splitinfer.experiments.runner import read_rows, run_experiment, write_rows

__all__ = ["Experiment", "experiment", "plotter", "summarizer", "get_experiment",
           "list_experiments", "run_experiment", "read_rows", "write_rows"]

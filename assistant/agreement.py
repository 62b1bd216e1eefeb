"""How far two raters agree beyond chance: reviewers with each other, a judge with people."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from sklearn.metrics import cohen_kappa_score


def cohen_kappa(a: Sequence, b: Sequence, labels: Sequence | None = None) -> float | None:
    """Cohen's kappa of two raters' labels for the same items (None when undefined).
    ``labels``: all the labels there are (default: those used), which leaves kappa as it is."""
    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    if len(a) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined (chance agreement total) is reported as None below
        value = float(cohen_kappa_score(a, b, labels=list(labels) if labels is not None else None))
    return None if math.isnan(value) else value

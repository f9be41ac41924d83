"""Scores of probabilistic predictions of home wins: accuracy, log loss, Brier, calibration."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss

CALIBRATION_BINS = 10
EPSILON = 1e-6


def calibration_table(y: np.ndarray, prob: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Equal-width bins of predicted P(home win): count, mean predicted, observed rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        mask = index == b
        if not mask.any():
            continue
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "n": int(mask.sum()),
                "mean_predicted": round(float(prob[mask].mean()), 4),
                "observed": round(float(y[mask].mean()), 4),
            }
        )
    return table


def score(y_true: Any, prob_home: Any) -> dict[str, Any]:
    """accuracy (home win predicted when P > 0.5), log loss, Brier, n, calibration bins."""
    y = np.asarray(y_true, dtype=int)
    prob = np.clip(np.asarray(prob_home, dtype=float), EPSILON, 1 - EPSILON)
    if len(y) == 0:
        return {"n": 0}
    return {
        "n": int(len(y)),
        "accuracy": round(float(((prob > 0.5).astype(int) == y).mean()), 4),
        "log_loss": round(float(log_loss(y, prob, labels=[0, 1])), 4),
        "brier": round(float(brier_score_loss(y, prob)), 4),
        "calibration": calibration_table(y, prob),
    }

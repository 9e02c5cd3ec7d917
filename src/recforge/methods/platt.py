"""Platt scaling: a one-feature logistic regression from a score to P(label = 1), fitted on the valid
windows and applied to every split. It is monotone, so AUC keeps the score's ranking (reversed if the
valid windows give it a negative slope, which the fitted slope reports); only log-loss changes. Valid
log-loss after it is in-sample."""

from __future__ import annotations

import numpy as np


def platt(scores: np.ndarray, labels: np.ndarray, fit_rows: np.ndarray, c: float = 1.0
          ) -> tuple[np.ndarray, dict[str, float]]:
    """P(label = 1) for every score, from a fit on scores[fit_rows] (boolean mask) against
    labels[fit_rows] with inverse L2 strength `c`; and the fit's slope, intercept and row count."""
    from sklearn.linear_model import LogisticRegression

    scores = np.asarray(scores, dtype="float64").reshape(-1, 1)
    fit_rows = np.asarray(fit_rows, dtype=bool)
    if fit_rows.sum() == 0 or len(np.unique(np.asarray(labels)[fit_rows])) < 2:
        raise ValueError("Platt scaling needs valid windows of both labels")
    fit = LogisticRegression(C=c).fit(scores[fit_rows], np.asarray(labels)[fit_rows])
    report = {"slope": float(fit.coef_[0, 0]), "intercept": float(fit.intercept_[0]), "n": int(fit_rows.sum())}
    return fit.predict_proba(scores)[:, 1].astype("float64"), report


def logit(p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype="float64"), eps, 1 - eps)
    return np.log(p) - np.log1p(-p)

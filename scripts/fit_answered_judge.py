"""Fit the local answered judge and write its weights (plain numbers) for the package.

    python scripts/fit_answered_judge.py ../shared/eval/answered/dev.csv [--out assistant/data/answered_judge.json]

DATA is a CSV of LLM answers judged by people: columns ``llm``, ``question``, ``answer``
and ``decision`` (yes/no). The same data gives the same file: the solver is
deterministic and the only randomness, the order of rows, is fixed by SEED.

Before fitting on all rows it prints the honest estimate: fitted on one LLM's answers,
tested on each other LLM's (an answer of a model the judge never saw), both ways. Beside
it, what the same judge reaches on each LLM's answers when fitted on that LLM's other
answers (5-fold): the ceiling a judge fitted elsewhere cannot be expected to pass.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.answering.answered import FEATURE_NAMES, MODEL_FILE, JudgeModel, feature_matrix  # noqa: E402
from assistant.config import EmbeddingSettings  # noqa: E402
from assistant.library.embeddings import embedding_name, load_embedding  # noqa: E402

SEED = 20241
# Regularisation chosen among 0.3, 1 and 3 by the mean of the two cross-LLM estimates.
C = 3.0


def read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("decision", "").strip().lower() in ("yes", "no")]
    if not rows:
        raise SystemExit(f"{path}: no rows with a yes/no decision.")
    return rows


def fit(x: np.ndarray, y: np.ndarray) -> JudgeModel:
    k = len(FEATURE_NAMES)
    mean = x[:, :k].mean(axis=0)
    scale = x[:, :k].std(axis=0)
    scale[scale == 0] = 1.0
    z = x.copy()
    z[:, :k] = (z[:, :k] - mean) / scale
    clf = LogisticRegression(C=C, max_iter=10_000, random_state=SEED).fit(z, y)
    return JudgeModel(mean, scale, clf.coef_[0], float(clf.intercept_[0]), {})


def within(x: np.ndarray, y: np.ndarray, folds: int = 5) -> float | None:
    """Agreement on one LLM's answers, each predicted by a judge fitted on the other folds
    of the same LLM's answers; None when a class has fewer answers than folds."""
    if min(int(y.sum()), int(len(y) - y.sum())) < folds:
        return None
    said = np.zeros(len(y), dtype=bool)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(x, y):
        said[test] = fit(x[train], y[train]).probability(x[test]) >= 0.5
    return round(float((said == y).mean()), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="CSV with llm, question, answer and decision columns")
    parser.add_argument("--out", type=Path, default=MODEL_FILE, help=f"where the weights go (default {MODEL_FILE})")
    args = parser.parse_args()

    rows = read(args.data)
    rows.sort(key=lambda r: (r["llm"], r["question"], r["answer"]))
    order = np.random.default_rng(SEED).permutation(len(rows))
    rows = [rows[i] for i in order]
    settings = EmbeddingSettings()
    encoder = load_embedding(settings)
    x = feature_matrix([(r["question"], r["answer"]) for r in rows],
                       lambda texts: np.asarray(encoder.get_text_embedding_batch(texts)))
    y = np.array([r["decision"].strip().lower() == "yes" for r in rows], dtype=int)
    llms = np.array([r["llm"] for r in rows])

    estimates = []
    for seen in sorted(set(llms)):
        model = fit(x[llms == seen], y[llms == seen])
        for unseen in sorted(set(llms) - {seen}):
            test = llms == unseen
            said = model.probability(x[test]) >= 0.5
            agreement = float((said == y[test]).mean())
            kappa = float(cohen_kappa_score(y[test], said.astype(int)))
            estimates.append({"fitted_on": seen, "tested_on": unseen, "answers": int(test.sum()),
                              "agreement": round(agreement, 3), "kappa": round(kappa, 3)})
            print(f"fitted on {seen} ({int((llms == seen).sum())} answers), tested on {unseen} "
                  f"({int(test.sum())}): agreement {agreement:.3f}, kappa {kappa:.3f}")
    mean = float(np.mean([e["agreement"] for e in estimates])) if estimates else float("nan")
    print(f"mean cross-LLM agreement: {mean:.3f}")
    ceilings = {}
    for llm in sorted(set(llms)):
        ceilings[llm] = within(x[llms == llm], y[llms == llm])
        shown = "too few answers" if ceilings[llm] is None else f"agreement {ceilings[llm]:.3f}"
        print(f"fitted and tested on {llm}'s own answers (5-fold): {shown}")

    model = fit(x, y)
    about = {
        "what": "answered from the paper (yes/no) of an LLM answer; logistic regression",
        "data": args.data.name, "answers": len(rows), "yes_share": round(float(y.mean()), 3),
        "embedding": embedding_name(settings), "C": C, "seed": SEED, "cross_llm": estimates,
        "within_llm_5fold": ceilings,
        "features": list(FEATURE_NAMES) + ["answer vector", "mean vector of non-refusing sentences",
                                           "question vector", "question vector where the answer refuses and "
                                           "says more"],
    }
    model = JudgeModel(model.mean, model.scale, model.coef, model.intercept, about)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Rounded: the file stays small and readable; 6 digits change no verdict.
    data = model.to_json()
    for key in ("mean", "scale", "coef"):
        data[key] = [round(v, 6) for v in data[key]]
    data["intercept"] = round(data["intercept"], 6)
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB, {len(model.coef)} weights)")


if __name__ == "__main__":
    main()

"""Fit the answer/refuse decision on same-topic pools and report it on held-out pools.

    python bench/ontopic.py --split all --features /tmp/features.jsonl    # the decision's features per question
    python bench/calibrate.py /tmp/features.jsonl [--write]

Each pool of ../shared/eval/ontopic is about one subject, as a news store is, and has on-topic questions it cannot
answer. The logistic decision is fitted on the `fit` pools (bench/ontopic.py names them), each source (SQuAD 2.0,
ARCD, XQuAD) weighted equally and answerable and unanswerable questions weighted equally; the threshold is the one
with the best balanced accuracy on those pools among the thresholds whose precision is at least `--precision`.
Everything printed for `held-out` was never seen by the fit. `--write` stores the model in
retrieval/data/answerability.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ontopic import FIT_POOLS  # noqa: E402

from retrieval.extractive import FEATURES  # noqa: E402

MODEL_FILE = Path(__file__).resolve().parents[1] / "retrieval" / "data" / "answerability.json"


def load(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    for row in rows:
        row["source"] = row["pool"].split("-", 1)[0]
        row["eligible"] = any(row["features"].values())
    return rows


def matrix(rows: list[dict], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[r["features"].get(n, 0.0) for n in names] for r in rows], float)
    return x, np.array([r["answerable"] for r in rows])


def weights_of(rows: list[dict]) -> np.ndarray:
    """Every (source, answerable) cell weighs the same in the fit."""
    cells: dict[tuple[str, bool], int] = {}
    for r in rows:
        cells[(r["source"], r["answerable"])] = cells.get((r["source"], r["answerable"]), 0) + 1
    w = np.array([1.0 / cells[(r["source"], r["answerable"])] for r in rows])
    return w / w.mean()


# More of these can only make an answer more likely: a margin or a coverage that lowers the odds would be an
# artefact of correlated features, and it would refuse the clearest answers.
MONOTONE = {"score_margin", "lang_margin", "gap", "focus", "focus_margin", "dense"}


def fit(
    x: np.ndarray, y: np.ndarray, sample: np.ndarray, names: list[str], l2: float = 1e-2
) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by projected gradient descent on standardised features (weights of MONOTONE
    features kept at zero or above), returned in raw units."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / std
    w, b = np.zeros(x.shape[1]), 0.0
    monotone = np.array([n in MONOTONE for n in names])
    for _ in range(6000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = sample * (p - y)
        w -= 0.2 * (z.T @ g / len(y) + l2 * w)
        w[monotone] = np.maximum(w[monotone], 0.0)
        b -= 0.2 * float(np.mean(g))
    raw_w = w / std
    return raw_w, b - float((w * mean / std).sum())


def probabilities(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(x @ w + b, -50, 50)))


def report(rows: list[dict], answered: np.ndarray, label: str) -> None:
    y = np.array([r["answerable"] for r in rows])
    print(f"  {label}: n={len(rows)}  {summary(y, answered)}")
    for group in ("source", "kind"):
        for value in sorted({r[group] for r in rows}):
            mask = np.array([r[group] == value for r in rows])
            print(f"    {value:22s} n={mask.sum():4d}  {summary(y[mask], answered[mask])}")
    for direction in ("en->en", "ar->ar", "en->ar", "ar->en"):
        mask = np.array([r.get("direction") == direction for r in rows])
        if mask.any():
            print(f"    {direction:22s} n={mask.sum():4d}  {summary(y[mask], answered[mask])}")


def summary(y: np.ndarray, answered: np.ndarray) -> str:
    pos, neg = y == 1, y == 0
    parts = []
    if pos.any():
        parts.append(f"answered {answered[pos].mean():.3f}")
    if neg.any():
        parts.append(f"refused {1 - answered[neg].mean():.3f}")
    if answered.any():
        parts.append(f"precision {y[answered].mean():.3f}")
    return "  ".join(parts)


def balanced(y: np.ndarray, answered: np.ndarray, sample: np.ndarray) -> tuple[float, float]:
    pos, neg = y == 1, y == 0
    recall = float((sample * answered)[pos].sum() / sample[pos].sum())
    refusal = float((sample * ~answered)[neg].sum() / sample[neg].sum())
    precision = float((sample * answered)[pos].sum() / max(1e-9, (sample * answered).sum()))
    return (recall + refusal) / 2, precision


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("features", type=Path)
    parser.add_argument("--precision", type=float, default=0.75, help="lowest weighted precision on the fit pools")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--features", dest="names", help="comma-separated feature names (default: the product's)")
    args = parser.parse_args()

    rows = load(args.features)
    fit_rows = [r for r in rows if r["pool"] in FIT_POOLS]
    held_rows = [r for r in rows if r["pool"] not in FIT_POOLS]
    trainable = [r for r in fit_rows if r["eligible"]]  # no eligible sentence is a refusal without the model
    names = args.names.split(",") if args.names else FEATURES
    x, y = matrix(trainable, names)
    sample = weights_of(trainable)
    w, b = fit(x, y, sample, names)

    x_all, y_all = matrix(fit_rows, names)
    eligible = np.array([r["eligible"] for r in fit_rows])
    p_all = probabilities(x_all, w, b)
    sample_all = weights_of(fit_rows)
    best, best_value = 0.5, -1.0
    for threshold in np.linspace(0.05, 0.95, 91):
        answered = eligible & (p_all >= threshold)
        value, precision = balanced(y_all, answered, sample_all)
        if precision >= args.precision and value > best_value:
            best, best_value = float(threshold), value
    print("weights:", {n: round(float(v), 3) for n, v in zip(names, w, strict=True)}, "intercept", round(b, 3))
    print(f"threshold {best:.2f} (fit balanced accuracy {best_value:.3f})")
    for label, part in (("fit", fit_rows), ("held-out", held_rows)):
        x_part, _ = matrix(part, names)
        answered = np.array([r["eligible"] for r in part]) & (probabilities(x_part, w, b) >= best)
        report(part, answered, label)
    if args.write:
        model = {
            "about": "Logistic answered/refused decision over pool-relative features (retrieval/extractive.py), fitted "
            "by bench/calibrate.py on the fit pools of the same-topic set (../shared/eval/ontopic).",
            "weights": dict(zip(names, map(float, w), strict=True)),
            "intercept": b,
            "threshold": best,
        }
        MODEL_FILE.write_text(json.dumps(model, indent=2) + "\n", "utf-8")
        print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()

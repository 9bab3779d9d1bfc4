"""TF-IDF + logistic regression on exactly hone's split: the bag-of-words floor.

The issue's floors for SpamAssassin and BBC News were measured on other
splits. This scores the same baseline on the examples hone's figures come
from, with the regularisation chosen on hone's validation split (never on
test) and the model fitted on the training split only, as `hone finetune` is.

    hone data --data spam-assassin --export /tmp/split-spam
    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python benches/baselines/tfidf_lr.py /tmp/split-spam
    /tmp/skl/bin/python benches/baselines/tfidf_lr.py /tmp/split-spam --view email

`--view email` reads a message as its subject, sender and every text part of
its body with HTML tags removed (`text_views/mail_view.py`, an approximation
of hone's `email` view), unbounded in length. `--compare FILE` takes a
`hone eval classify --predictions` file of the same test split and prints
which errors the two share.
"""
import argparse
import json
import sys
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "text_views"))
from mail_view import email_view, parse  # noqa: E402

C_GRID = [0.1, 1.0, 10.0, 100.0]


def read(folder, part):
    with open(f"{folder}/{part}.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def main():
    cli = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cli.add_argument("split", help="folder written by `hone data --export`")
    cli.add_argument("--view", choices=["raw", "email"], default="raw")
    cli.add_argument("--compare", help="hone predictions (JSON lines) of the same test split")
    args = cli.parse_args()

    view = (lambda raw: email_view(*parse(raw)[::2])) if args.view == "email" else (lambda text: text)
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (
        read(args.split, part) for part in ["train", "validation", "test"]
    )
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
    train_m = vectorizer.fit_transform([view(t) for t in train_x])
    val_m = vectorizer.transform([view(t) for t in val_x])
    test_m = vectorizer.transform([view(t) for t in test_x])

    models = {
        c: LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(train_m, train_y)
        for c in C_GRID
    }
    val_f1 = {c: f1_score(val_y, m.predict(val_m), average="macro") for c, m in models.items()}
    best_c = max(C_GRID, key=lambda c: (val_f1[c], -c))  # ties: the stronger regularisation
    predicted = models[best_c].predict(test_m)
    wrong = [i for i, (p, g) in enumerate(zip(predicted, test_y)) if p != g]
    print(f"view {args.view}: {len(train_y)} train / {len(val_y)} validation / {len(test_y)} test")
    print("validation macro-F1 by C: " + ", ".join(f"{c:g}: {f:.4f}" for c, f in val_f1.items()))
    print(f"C = {best_c:g}: test accuracy {accuracy_score(test_y, predicted):.4f}, "
          f"macro-F1 {f1_score(test_y, predicted, average='macro'):.4f}, "
          f"{len(wrong)} of {len(test_y)} wrong" + (f": {wrong}" if len(wrong) <= 30 else ""))
    if args.compare:
        with open(args.compare, encoding="utf-8") as f:
            hone_wrong = {r["index"] for r in map(json.loads, f) if not r["correct"]}
        shared = sorted(hone_wrong & set(wrong))
        print(f"hone's predictions: {len(hone_wrong)} wrong, {len(shared)} shared: {shared}; "
              f"only hone: {sorted(hone_wrong - set(wrong))}")


if __name__ == "__main__":
    main()

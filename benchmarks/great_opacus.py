"""GReaT's own DP-SGD loop vs opacus' ``make_private(poisson_sampling=True)`` + ``BatchMemoryManager``.

Same tiny GPT-2 (tests/great_tiny.py), rows, noise, clipping and delta; one epoch
each; prints seconds of the training loop and the accountant's epsilon:

    OMP_NUM_THREADS=1 python benchmarks/great_opacus.py [--rows 455] [--epochs 1] [--repeat 1]

The opacus way keeps transformers' Conv1D layers (no layer swap): opacus 1.6's
GradSampleModule computes their per-sample gradients with its functorch fallback.
docs/great.md records what this measured and why GReaT keeps its own loop.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]

from _checkout import tests_helper  # noqa: E402

filled = tests_helper("generator_settings").filled
build_tiny_model = tests_helper("great_tiny").build_tiny_model

from privsynth.generators.great.codec import Codec  # noqa: E402
from privsynth.generators.great.dp import _collate, _per_row_loss, fit_dp  # noqa: E402
from privsynth.generators.great.loading import LogWriter, load_great  # noqa: E402
from privsynth.schema import infer_schema  # noqa: E402

COLUMNS = ["mean radius", "mean texture", "worst area", "target"]


def own_loop(great, frame, codec, schema, s) -> dict:
    t0 = time.perf_counter()
    m = fit_dp(great, frame, codec, schema, s, "cpu", seed=0)
    return {
        "seconds": round(time.perf_counter() - t0, 2),
        "epsilon": round(m["epsilon"], 4),
        "steps": m["dp_steps"],
        "sample_rate": m["dp_sample_rate"],
        "loss": m["train_loss"],
    }


def opacus_make_private(great, frame, s) -> dict:
    import torch
    from be_great.great_dataset import GReaTDataset
    from opacus import PrivacyEngine
    from opacus.utils.batch_memory_manager import BatchMemoryManager

    dp = s["differential_privacy"]
    n, batch = len(frame), int(s["batch_size"])
    ds = GReaTDataset.from_pandas(frame.reset_index(drop=True))
    ds.set_tokenizer(great.tokenizer, s["float_precision"])
    pad = great.tokenizer.pad_token_id if great.tokenizer.pad_token_id is not None else 0

    class Rows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return n

        def __getitem__(self, i: int):
            return (torch.tensor(ds[int(i)]["input_ids"]),)

    def collate(items):
        return _collate([x[0].tolist() for x in items], pad, "cpu")

    model = great.model.to("cpu")
    model.train()
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    loader = torch.utils.data.DataLoader(
        Rows(), batch_size=batch * int(s["gradient_accumulation_steps"]), collate_fn=collate
    )
    engine = PrivacyEngine(accountant=dp["accountant"])
    model, optimizer, loader = engine.make_private(
        module=model,
        optimizer=torch.optim.AdamW(model.parameters(), lr=float(s["learning_rate"])),
        data_loader=loader,
        noise_multiplier=float(dp["noise_multiplier"]),
        max_grad_norm=float(dp["max_grad_norm"]),
        poisson_sampling=True,
        grad_sample_mode="hooks",  # hooks + functorch fallback for Conv1D
    )
    delta = 1.0 / (10 * n)
    t0 = time.perf_counter()
    losses, steps = [], 0
    for _ in range(int(s["epochs"])):
        with BatchMemoryManager(data_loader=loader, max_physical_batch_size=batch, optimizer=optimizer) as mem:
            for ids, mask in mem:
                if len(ids) == 0:
                    continue
                loss = _per_row_loss(model, ids, mask).mean()
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                losses.append(float(loss.detach()))
                steps += not optimizer._is_last_step_skipped
    return {
        "seconds": round(time.perf_counter() - t0, 2),
        "epsilon": round(engine.get_epsilon(delta), 4),
        "steps": steps,
        "sample_rate": round(1 / len(loader), 6),
        "loss": round(sum(losses[-5:]) / 5, 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=455)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch
    from sklearn.datasets import load_breast_cancer

    torch.set_num_threads(1)
    df = load_breast_cancer(as_frame=True).frame[COLUMNS]
    train = df.sample(n=min(args.rows, len(df)), random_state=0).reset_index(drop=True)
    schema = infer_schema(train)
    s = filled(
        "great",
        {
            "epochs": args.epochs,
            "batch_size": 16,
            "learning_rate": 5e-3,
            "gpu": 0,
            "differential_privacy": {"noise_multiplier": 1.0},
        },
    )
    print(json.dumps({"load_1min": os.getloadavg()[0], "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}))
    with tempfile.TemporaryDirectory() as tmp:
        s["llm"] = str(build_tiny_model(df, Path(tmp) / "tiny"))
        codec = Codec(schema)
        frame = codec.encode(train[schema.names])
        for r in range(args.repeat):
            for way in ("own_loop", "make_private"):
                torch.manual_seed(r)
                great = load_great(s, len(frame), Path(tmp) / f"w{r}", "cpu", r, LogWriter())
                out = (
                    own_loop(great, frame, codec, schema, s)
                    if way == "own_loop"
                    else opacus_make_private(great, frame, s)
                )
                print(json.dumps({"way": way, "repeat": r, "rows": len(frame), "epochs": args.epochs, **out}))


if __name__ == "__main__":
    main()

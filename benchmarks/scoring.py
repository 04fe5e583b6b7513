"""Scoring benchmark: time and peak memory of ``score_accounts`` at 10k and 100k accounts.

Run: ``.venv/bin/python benchmarks/scoring.py [--sizes 10000 100000] [--no-store]``.

Each size runs in a fresh process (so peak memory is that size's own) on the synthetic
book of ``territorial.scoring.synthetic`` (0.5 opportunities and ~3 activities per
account, 20 reps per 10k accounts). "score" is the whole library run: fit, propensity
training with its held-out evaluation and refit, potential, tiers, travel, workload,
reasons, roll-ups. "store" is replacing ``account_scores`` in a SQLite file.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import tempfile
import time
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _rss_mb() -> float:
    # ru_maxrss is kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _one(size: int, store: bool, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from territorial.scoring import score_accounts
    from territorial.scoring.synthetic import planted_book

    book = planted_book(
        accounts=size, reps=max(5, size // 500), opportunities_per_account=0.5, seed=0
    )
    before = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    run = score_accounts(
        book.accounts, reps=book.reps, opportunities=book.opportunities, activities=book.activities
    )
    score_seconds = time.perf_counter() - start
    score_cpu = time.process_time() - cpu
    peak = _rss_mb()
    store_seconds = float("nan")
    if store:
        from territorial.store import open_store
        from territorial.store.scores import write_scores

        with tempfile.TemporaryDirectory() as folder:
            engine = open_store(f"sqlite:///{folder}/bench.db")
            start = time.perf_counter()
            write_scores(engine, scores=run.scores)
            store_seconds = time.perf_counter() - start
            engine.dispose()
    queue.put(
        {
            "accounts": size,
            "opportunities": len(book.opportunities),
            "activities": len(book.activities),
            "score_s": score_seconds,
            "score_cpu_s": score_cpu,
            "store_s": store_seconds,
            "rss_before_mb": before,
            "peak_rss_mb": max(peak, _rss_mb()),
            "auc": run.quality.roc_auc if run.quality else float("nan"),
        }
    )


def _sample(size: int, reps: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    """Held-out AUC on the realistic sample company, next to the AUC of its true win model."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from territorial.sample import generate_company, win_logit
    from territorial.scoring import score_accounts

    company = generate_company(accounts=size, reps=reps, seed=7, leads=False)
    start = time.perf_counter()
    run = score_accounts(
        company.accounts,
        reps=company.reps,
        opportunities=company.opportunities,
        activities=company.activities,
    )
    seconds = time.perf_counter() - start
    quality = run.quality
    assert quality is not None, run.propensity_skipped
    opp = company.opportunities
    closed = opp[opp["is_closed"].astype(bool)]
    test = closed[pd.to_datetime(closed["close_date"]) >= pd.Timestamp(quality.cutoff)]
    truth = pd.Series(np.asarray(win_logit(company.accounts)), index=company.accounts["id"])
    oracle = roc_auc_score(test["is_won"].astype(int), truth.reindex(test["account_id"]).to_numpy())
    queue.put(
        {
            "accounts": size,
            "seconds": seconds,
            "summary": quality.summary(),
            "oracle": oracle,
            "top": ", ".join(run.importance["feature"].head(6))
            if run.importance is not None
            else "",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--no-store", action="store_true", help="skip the SQLite write timing")
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        metavar="ACCOUNTS",
        help="also report the propensity AUC on a sample company of this size (0: skip)",
    )
    args = parser.parse_args()

    import numpy
    import pandas
    import sklearn

    print(
        f"machine: {os.cpu_count()} cores, {_cpu_model()}, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, pandas {pandas.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )
    context = mp.get_context("spawn")
    rows = []
    for size in args.sizes:
        queue = context.Queue()
        process = context.Process(target=_one, args=(size, not args.no_store, queue))
        process.start()
        rows.append(queue.get())
        process.join()

    header = (
        f"{'accounts':>9} {'opps':>7} {'activities':>10} {'score s':>8} {'CPU s':>6} "
        f"{'store s':>8} {'RSS before MB':>13} {'peak RSS MB':>11} {'held-out AUC':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['accounts']:>9,} {r['opportunities']:>7,} {r['activities']:>10,} "
            f"{r['score_s']:>8.2f} {r['score_cpu_s']:>6.2f} {r['store_s']:>8.2f} "
            f"{r['rss_before_mb']:>13.0f} "
            f"{r['peak_rss_mb']:>11.0f} {r['auc']:>12.3f}"
        )

    if args.sample:
        queue = context.Queue()
        reps = max(10, args.sample // 330)
        process = context.Process(target=_sample, args=(args.sample, reps, queue))
        process.start()
        r = queue.get()
        process.join()
        print(
            f"\nsample company ({r['accounts']:,} accounts, seed 7), "
            f"scored in {r['seconds']:.1f} s: {r['summary']}.\n"
            "True planted win model on the same held-out rows: AUC "
            f"{r['oracle']:.3f}. Strongest features: {r['top']}."
        )


if __name__ == "__main__":
    main()

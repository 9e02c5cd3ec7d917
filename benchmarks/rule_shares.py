"""Where a run's time went: every Snakemake benchmark file under the given folders, its wall seconds,
CPU seconds and share of the summed job time, longest first, as a markdown table.

    python benchmarks/rule_shares.py results/Movies/benchmarks --wall 5400 --top 25

The jobs of a `-c2` run overlap, so the shares are of the summed job seconds, not of the wall time;
`--wall` (the run's own wall-clock seconds) adds the ratio of the two, the run's mean parallelism.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def rule_table(folders: list[Path]) -> pd.DataFrame:
    """One row per benchmark file: job (its path under the folder, without .tsv), s, cpu_s, share."""
    rows = []
    for folder in folders:
        for path in sorted(folder.rglob("*.tsv")):
            table = pd.read_csv(path, sep="\t")
            rows.append({"job": str(path.relative_to(folder).with_suffix("")), "s": float(table["s"].sum()),
                         "cpu_s": float(pd.to_numeric(table["cpu_time"], errors="coerce").sum())})
    if not rows:
        raise SystemExit(f"no benchmark files under {', '.join(map(str, folders))}")
    out = pd.DataFrame(rows).sort_values("s", ascending=False, kind="stable").reset_index(drop=True)
    out["share"] = out["s"] / out["s"].sum()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+", help="benchmark folders, e.g. results/Movies/benchmarks")
    parser.add_argument("--wall", type=float, help="the run's wall-clock seconds")
    parser.add_argument("--top", type=int, default=20, help="rows shown; the rest are summed in one line")
    args = parser.parse_args()
    table = rule_table(args.folders)
    print("| job | s | CPU s | share |\n|---|---:|---:|---:|")
    for row in table.head(args.top).itertuples():
        print(f"| {row.job} | {row.s:.0f} | {row.cpu_s:.0f} | {row.share:.1%} |")
    rest = table.iloc[args.top:]
    if len(rest):
        print(f"| {len(rest)} other jobs | {rest.s.sum():.0f} | {rest.cpu_s.sum():.0f} | {rest.share.sum():.1%} |")
    total = table["s"].sum()
    print(f"\n{len(table)} jobs, {total:.0f} job-seconds ({total / 60:.1f} min)", end="")
    if args.wall:
        print(f"; wall {args.wall:.0f} s ({args.wall / 60:.1f} min), mean parallelism {total / args.wall:.2f}")
    else:
        print()


if __name__ == "__main__":
    main()

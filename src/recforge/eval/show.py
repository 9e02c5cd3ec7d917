"""Print a metrics.json as the comparison tables of the report (test split; references tagged, the best
real method per column in bold): `python -m recforge.eval.show results/Movies/metrics.json`.
`--split valid` shows the selection split; `--all` adds every number (splits, scenarios, provenance)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from recforge.eval.aggregate import to_markdown as full_markdown
from recforge.eval.compare import comparison, to_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metrics_json", nargs="+")
    parser.add_argument("--split", default="test", choices=["valid", "test"])
    parser.add_argument("--all", action="store_true", help="also print every number of the file")
    args = parser.parse_args(argv)
    status = 0
    for path in map(Path, args.metrics_json):
        if not path.is_file():
            # A user who asks before the run finished gets one line, not a traceback.
            print(f"{path}: not built yet; make it with `snakemake -c2 {path}`", file=sys.stderr)
            status = 1
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        print(f"# {document['dataset']}\n")
        print(to_markdown(comparison(document, args.split)))
        if args.all:
            print("\n" + full_markdown(document))
    return status


if __name__ == "__main__":
    sys.exit(main())

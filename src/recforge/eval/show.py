"""Print a metrics.json as markdown tables: `python -m recforge.eval.show results/Movies/metrics.json`."""

from __future__ import annotations

import argparse
import json

from recforge.eval.aggregate import to_markdown


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metrics_json", nargs="+")
    for path in parser.parse_args(argv).metrics_json:
        with open(path, encoding="utf-8") as handle:
            print(to_markdown(json.load(handle)))


if __name__ == "__main__":
    main()

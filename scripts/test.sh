#!/usr/bin/env bash
# The whole test suite, as CI runs it: the Rust workspace, then the Python package built with
# maturin and installed into a fresh virtual environment, then its pytest suite (which checks
# it against ijson and json.loads).
#
#   scripts/test.sh            (needs cargo and python3 >= 3.9 with venv; fetches maturin,
#                               pytest and ijson from PyPI into target/test-venv)
set -euo pipefail
cd "$(dirname "$0")/.."

# (includes spate serve's browser test, crates/spate-cli/tests/serve_browser.rs, which needs
# chromium and chromedriver: .ci/run installs them; without them it says SKIPPED)
cargo test --workspace

venv=$(realpath -m "${SPATE_TEST_VENV:-target/test-venv}")
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check maturin pytest ijson
# Columnar output (issue 15): spate's Parquet is read back by pyarrow, DuckDB and Polars, and
# by Dask on a LocalCluster (tests/test_columnar.py, tests/test_dask.py).
"$venv/bin/python" -m pip install -q --disable-pip-version-check pyarrow duckdb polars 'dask[distributed,dataframe]'
"$venv/bin/python" -m pip install -q --disable-pip-version-check ./python
# From the tests' folder, so that `import spate` is the installed package, not the source.
(cd python/tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider)

#!/usr/bin/env bash
# Run the pytest suites of the demo app and of bakery's launcher with Debian's Python,
# from any working directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian's interpreter on purpose: it is the one with python3-flask and
# python3-waitress, and the one the baked image runs. No bytecode or cache
# files, so nothing stray is copied into the image.
export PYTHONDONTWRITEBYTECODE=1
(cd "$root/service" && PYTHONPATH="$root/launcher" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests "$@")
(cd "$root/launcher" && /usr/bin/python3 -m pytest -q -p no:cacheprovider tests "$@")

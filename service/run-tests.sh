#!/usr/bin/env bash
# Run the service's pytest suite with Debian's Python, from any working directory.
set -euo pipefail

service_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$service_dir"

# Debian's interpreter on purpose: it is the one with python3-flask and
# python3-waitress, and the one the baked image runs. No bytecode or cache
# files, so nothing stray is copied into the image from service/.
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider tests "$@"

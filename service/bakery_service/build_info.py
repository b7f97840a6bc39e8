"""Build information written by the bake, read once at start-up."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_BUILD_INFO_PATH = "/etc/bakery/build-info.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildInfo:
    """Facts about the image this process was baked into."""

    app: str = "bakery-service"
    version: str = "dev"
    fingerprint: str = "unknown"
    git_revision: str = "unknown"
    baked_at: str = "unknown"
    environment: str = "unknown"

    def as_dict(self) -> dict[str, str]:
        """Return the facts keyed by their build-info JSON names."""
        return asdict(self)


BUILD_INFO_KEYS = tuple(BuildInfo.__dataclass_fields__)


def load_build_info(path: str | Path) -> BuildInfo:
    """Read build information from path, falling back to dev values with one warning."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.warning("build info unavailable at %s (%s); serving as a dev build", path, error)
        return BuildInfo()
    if not isinstance(document, dict):
        log.warning("build info at %s is not a JSON object; serving as a dev build", path)
        return BuildInfo()

    # A key the bake forgot keeps its fallback rather than failing start-up:
    # a running service with one "unknown" fact beats a crash-looping unit.
    found = {key: document[key] for key in BUILD_INFO_KEYS if isinstance(document.get(key), str)}
    absent = [key for key in BUILD_INFO_KEYS if key not in found]
    if absent:
        log.warning("build info at %s lacks string values for %s; using fallbacks", path, ", ".join(absent))
    return BuildInfo(**found)

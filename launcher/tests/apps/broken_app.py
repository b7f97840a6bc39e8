"""An app whose import fails, as a missing dependency would make it."""

import not_installed_anywhere  # noqa: F401

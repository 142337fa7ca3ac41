"""What the gallery's recorded outputs were computed from.

sphinx-gallery runs an example again only when the example's own source changes,
so a change in sk_deepnet would leave the recorded outputs (and the numbers the
user guide quotes from them) out of date. The stamp written next to the gallery
names the mode of the build (a full run or a quick smoke run) and a digest of
the package's sources; ``doc/conf.py`` drops the gallery when the stamp changes,
so that every example runs again, and ``tests/test_docs.py`` checks the guide's
quotes only against a full gallery of the current sources.
"""

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "sk_deepnet"


def gallery_stamp(smoke):
    """``"full <digest>"`` or ``"smoke <digest>"`` for the current sources."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{'smoke' if smoke else 'full'} {digest.hexdigest()[:16]}"

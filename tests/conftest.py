"""Test-wide settings: the library's default CCR store goes to a temporary directory, never
to the developer's ~/.local/share."""

from __future__ import annotations

import os
import tempfile

os.environ["HEADROOM_STORE"] = os.path.join(tempfile.mkdtemp(prefix="headroom-test-"), "ccr.db")

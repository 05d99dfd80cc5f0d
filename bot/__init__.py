"""Application wiring: settings, CLI, channel adapters, the Thai NLP tagger, i18n."""

import os

# pythainlp must never try to download anything: district offices (and CI) are often offline.
os.environ.setdefault("PYTHAINLP_OFFLINE", "1")

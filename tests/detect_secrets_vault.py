"""A detect-secrets plugin for Vault/OpenBao tokens, registered in .secrets.baseline.

detect-secrets ships no Vault detector, and a token like ``hvs.…`` has too
little entropy per character for the generic detectors: the scan missed it.
Service (``hvs.``), batch (``hvb.``) and recovery (``hvr.``) token prefixes.
"""

import re

from detect_secrets.plugins.base import RegexBasedDetector


class VaultTokenDetector(RegexBasedDetector):
    """Scans for Vault and OpenBao tokens."""

    secret_type = "Vault Token"
    denylist = [re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{20,}")]

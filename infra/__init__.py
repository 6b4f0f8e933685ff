"""The aragora-secrets stack program (``__main__``), its config and the offline plan."""

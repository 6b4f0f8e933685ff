"""The aragora-secrets stack program: only what `pulumi up` runs.

``config`` (common keys), ``catalog`` (the secrets), ``stack`` (composition),
``components`` (ESO, store, ExternalSecrets) and ``backends`` (one sub-package
per secret backend). The offline tooling lives in ``stacktools`` and imports
this package, never the other way round.
"""

"""Backend-independent ComponentResources: the operator, the store, the ExternalSecrets.

Components take typed args and never read config; ``infra.stack`` composes them.
"""

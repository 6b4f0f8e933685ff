"""Vault (or OpenBao) components: the KV v2 mount, ESO's read-only policy and Kubernetes auth role."""

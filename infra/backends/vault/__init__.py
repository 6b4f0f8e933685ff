"""Vault / OpenBao KV v2 backend: settings, declaration and its component."""

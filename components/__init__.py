"""Reusable ComponentResources, one per cloud concern.

Components take typed args and never read ``pulumi.Config``; ``infra/``
reads the config and composes them.
"""

"""Offline tooling around the stack program: it imports ``infra``, never the other way round.

``stackfiles`` (stack config as the CLI assembles it), ``mocks`` and
``recorder`` (the program under Pulumi's mock runtime), ``plan`` (the offline
plan command), ``plandiff`` and ``graph`` (review aids), ``ops`` (day-2
operations on a deployed stack), ``matrix`` (CI's stack list).
"""

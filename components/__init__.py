"""Reusable Pulumi components: everything aragora-secrets declares, as a library.

One file per component, one component per cloud concern: the operator, the
store, the ExternalSecrets, the alerts and Reloader at the top; per cloud the
ESO identity, the secret containers, rotation and network isolation
(``aws/``), the Vault backend (``vault/``), the GCP identity and secrets
(``gcp/``).

Every component takes explicit, typed arguments (names, namespaces, ARNs,
durations; ``pulumi.Input`` where a value comes from another resource) and
never a config model: the program in ``infra/`` reads config and turns it
into these arguments. Nothing here imports ``infra`` or ``stacktools`` (a
test proves it), and nothing here names an application: names, labels and
prefixes arrive as arguments.
"""

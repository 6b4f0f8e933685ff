"""The secret catalog: the one list of every value Aragora's pods receive.

Every backend (AWS Secrets Manager, Vault KV v2, GCP Secret Manager) and every
ExternalSecret is derived from ``CATALOG``. Adding a secret is one line here;
nothing else in the project names an individual secret.

What this module owns: the names, grouping and sync class of each value and the
rules that turn an entry into a backend location. What it does not own: the
values themselves, which never appear in this repository (operators write them
straight into the backend, see the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SyncClass(StrEnum):
    """How a value reaches the pods; each class is its own ExternalSecret and Secret."""

    REQUIRED = "required"
    """Refreshed every ``refreshInterval`` into Secret ``aragora-secrets``."""

    SESSION = "session"
    """Session-signing keys. Synced only when the ExternalSecret changes
    (ESO ``refreshPolicy: OnChange``): rotating one logs every user out, so a
    rotation is a deliberate config change (``jwtRotation``), never a side
    effect of a periodic refresh."""

    OPTIONAL = "optional"
    """Integrations that may be absent. Kept apart so that a missing optional key
    can never block the required Secret from syncing."""


@dataclass(frozen=True)
class SecretEntry:
    """One environment variable and where it lives.

    ``group`` is the grouped JSON secret on AWS and the KV v2 path on Vault
    (``aragora/<env>/<group>``), ``key`` the property inside it; on GCP every
    value is its own secret named ``aragora-<env>-<slug>``.
    """

    env_var: str
    group: str
    key: str
    slug: str
    sync: SyncClass
    description: str


REQ, SES, OPT = SyncClass.REQUIRED, SyncClass.SESSION, SyncClass.OPTIONAL

# Grouping keeps the number of remote secrets (and so the provider calls ESO
# makes on every refresh) small: four AWS/Vault secrets for eight values.
CATALOG: tuple[SecretEntry, ...] = (
    SecretEntry("DATABASE_URL", "database", "url", "database-url", REQ, "PostgreSQL connection string"),
    SecretEntry("ARAGORA_JWT_SECRET", "auth", "jwt-secret", "jwt-secret", SES, "Auth token signing secret, 32+ characters"),
    SecretEntry("ANTHROPIC_API_KEY", "api-keys", "anthropic", "anthropic-key", REQ, "Anthropic API key (Claude models)"),
    SecretEntry("OPENAI_API_KEY", "api-keys", "openai", "openai-key", REQ, "OpenAI API key (GPT models)"),
    SecretEntry("OPENROUTER_API_KEY", "api-keys", "openrouter", "openrouter-key", OPT, "OpenRouter API key (fallback, multi-model)"),
    SecretEntry("MISTRAL_API_KEY", "api-keys", "mistral", "mistral-key", OPT, "Mistral API key"),
    SecretEntry("STRIPE_SECRET_KEY", "billing", "stripe-secret-key", "stripe-secret-key", OPT, "Stripe secret key (billing)"),
    SecretEntry("STRIPE_WEBHOOK_SECRET", "billing", "stripe-webhook-secret", "stripe-webhook-secret", OPT, "Stripe webhook signing secret"),
)

APP_NAMESPACE = "aragora"
TARGET_SECRET = "aragora-secrets"


def env_prefix(environment: str) -> str:
    """The path every value of one environment lives under (AWS names, Vault paths)."""
    return f"aragora/{environment}/"


def by_group() -> dict[str, tuple[SecretEntry, ...]]:
    """Entries per grouped secret, groups in catalog order (one pass over the catalog)."""
    grouped: dict[str, list[SecretEntry]] = {}
    for e in CATALOG:
        grouped.setdefault(e.group, []).append(e)
    return {group: tuple(entries) for group, entries in grouped.items()}


def groups() -> tuple[str, ...]:
    """Grouped secret names, in catalog order, each once."""
    return tuple(dict.fromkeys(e.group for e in CATALOG))


def grouped_path(environment: str, group: str) -> str:
    """``aragora/<env>/<group>``: the AWS secret name and the Vault KV path."""
    return f"{env_prefix(environment)}{group}"


def gcp_secret_id(environment: str, entry: SecretEntry) -> str:
    """One GCP Secret Manager secret per value, the environment in its name."""
    return f"aragora-{environment}-{entry.slug}"


def target_secret_name(sync: SyncClass) -> str:
    """The Kubernetes Secret a sync class is written to."""
    return TARGET_SECRET if sync is SyncClass.REQUIRED else f"{TARGET_SECRET}-{sync.value}"


def validate_catalog() -> None:
    """Reject a catalog that would map two values to one place.

    The program calls it first, so a bad edit fails the plan and every test.
    """
    seen: dict[str, set[object]] = {"env_var": set(), "slug": set(), "location": set()}
    for e in CATALOG:
        for kind, value in (("env_var", e.env_var), ("slug", e.slug), ("location", (e.group, e.key))):
            if value in seen[kind]:
                raise ValueError(f"secret catalog: duplicate {kind} {value!r} ({e.env_var})")
            seen[kind].add(value)


class Layout(StrEnum):
    """How a backend stores the catalog."""

    GROUPED = "grouped"
    """JSON/KV secrets per group, one property per value (AWS, Vault)."""
    PER_VALUE = "per-value"
    """One secret per value (GCP Secret Manager)."""


def remote_ref(entry: SecretEntry, environment: str, layout: Layout) -> tuple[str, str | None]:
    """``(key, property)`` an ExternalSecret uses to fetch ``entry``."""
    if layout is Layout.GROUPED:
        return grouped_path(environment, entry.group), entry.key
    return gcp_secret_id(environment, entry), None


def by_sync_class() -> dict[SyncClass, tuple[SecretEntry, ...]]:
    """Entries per sync class, in class order, skipping empty classes."""
    return {
        sync: tuple(e for e in CATALOG if e.sync is sync)
        for sync in SyncClass
        if any(e.sync is sync for e in CATALOG)
    }

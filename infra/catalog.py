"""The secret catalog: the one list of every value Aragora's pods receive.

Every backend (AWS Secrets Manager, Vault KV v2, GCP Secret Manager) and every
ExternalSecret is derived from ``CATALOG``. Adding a secret is one line here;
nothing else in the project names an individual secret.

What this module owns: the names and grouping of each value, the sync classes
(which Kubernetes Secret a value lands in, how and when ESO refreshes it,
whether `pulumi up` waits for it, whether an operator may force a re-sync),
and the rules that turn an entry into a backend location. What it does not
own: the values themselves, which never appear in this repository (operators
write them straight into the backend, see the README).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

APP_NAMESPACE = "aragora"
TARGET_SECRET = "aragora-secrets"
JWT_ROTATION_ANNOTATION = "aragora.io/jwt-rotation"


class RefreshPolicy(StrEnum):
    """ESO ``spec.refreshPolicy``."""

    PERIODIC = "Periodic"
    ON_CHANGE = "OnChange"


@dataclass(frozen=True)
class SyncClass:
    """How a group of values reaches the pods: one ExternalSecret and one Secret each."""

    name: str
    target_secret: str
    """The Kubernetes Secret (and the ExternalSecret writing it)."""
    refresh_policy: RefreshPolicy
    await_ready: bool
    """`pulumi up` fails until ESO reports it Ready."""
    must_sync: bool
    """`make verify` fails when it is not Ready or empty."""
    rotation_marker: bool
    """Carries the ``jwtRotation`` marker as an annotation: changing the marker
    changes the ExternalSecret, which is what ``OnChange`` re-reads on."""

    @property
    def force_sync_allowed(self) -> bool:
        """An annotation is a change; on an ``OnChange`` ExternalSecret it would rotate the value."""
        return self.refresh_policy is RefreshPolicy.PERIODIC


REQUIRED = SyncClass(
    "required", TARGET_SECRET, RefreshPolicy.PERIODIC, await_ready=True, must_sync=True, rotation_marker=False
)
"""Refreshed every ``refreshInterval``; the app cannot start without them."""

SESSION = SyncClass(
    "session", f"{TARGET_SECRET}-session", RefreshPolicy.ON_CHANGE, await_ready=True, must_sync=True, rotation_marker=True
)
"""Session-signing keys: rotating one logs every user out, so a rotation is a
deliberate config change (``jwtRotation``), never a side effect of a refresh."""

OPTIONAL = SyncClass(
    "optional", f"{TARGET_SECRET}-optional", RefreshPolicy.PERIODIC, await_ready=False, must_sync=False, rotation_marker=False
)
"""Integrations that may be absent. Kept apart so that a missing optional key
can never block the required Secret from syncing."""

SYNC_CLASSES: tuple[SyncClass, ...] = (REQUIRED, SESSION, OPTIONAL)


@dataclass(frozen=True)
class Rotation:
    """A value's rotation policy: how old it may get, and who rotates it."""

    max_age_days: int
    mode: RotationMode


class RotationMode(StrEnum):
    AUTOMATIC = "automatic"
    """The backend rotates it (an AWS rotation Lambda or RDS managed rotation, a GCP rotation subscriber)."""
    MANUAL = "manual"
    """An operator rotates it at the vendor; the schedule is a deadline and the age report enforces it."""


# Defaults, and why:
DATABASE_CREDENTIALS = Rotation(30, RotationMode.AUTOMATIC)
"""Database credentials are the most reusable secret (network reachable, broad
data access) and can be rotated by machine without downtime (AWS's
alternating-users Lambda, RDS managed rotation): monthly."""
API_KEY = Rotation(90, RotationMode.MANUAL)
"""Vendor API keys are issued by hand in the vendor's console; 90 days is the
common compliance ceiling (PCI DSS, SOC 2 auditors) and a quarter of work."""
WEBHOOK_SECRET = Rotation(180, RotationMode.MANUAL)
"""Webhook signing secrets only prove a sender; rolling one needs the vendor's
dashboard and a grace period with both secrets valid: twice a year."""
SESSION_KEY = Rotation(90, RotationMode.MANUAL)
"""The JWT signing key logs every user out when it changes: quarterly, in a
maintenance window, then `jwtRotation` is bumped (README, Rotation rules)."""


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
    rotation: Rotation = API_KEY
    """Maximum age of the value and who rotates it."""


class Catalog:
    """An ordered, validated set of entries; backends and ExternalSecrets are built from it."""

    def __init__(self, entries: Iterable[SecretEntry]):
        self.entries: tuple[SecretEntry, ...] = tuple(entries)
        self._validate()
        grouped: dict[str, list[SecretEntry]] = {}
        synced: dict[SyncClass, list[SecretEntry]] = {}
        for e in self.entries:
            grouped.setdefault(e.group, []).append(e)
            synced.setdefault(e.sync, []).append(e)
        self.by_group: dict[str, tuple[SecretEntry, ...]] = {g: tuple(es) for g, es in grouped.items()}
        """Entries per grouped secret, groups in catalog order."""
        self.by_sync_class: dict[SyncClass, tuple[SecretEntry, ...]] = {
            s: tuple(synced[s]) for s in SYNC_CLASSES if s in synced
        }
        """Entries per sync class, in class order, empty classes left out."""

    def _validate(self) -> None:
        """Reject a catalog that would map two values to one place."""
        seen: dict[str, set[object]] = {"env_var": set(), "slug": set(), "location": set()}
        for e in self.entries:
            if e.sync not in SYNC_CLASSES:
                raise ValueError(f"secret catalog: {e.env_var} has an unknown sync class {e.sync.name!r}")
            for kind, value in (("env_var", e.env_var), ("slug", e.slug), ("location", (e.group, e.key))):
                if value in seen[kind]:
                    raise ValueError(f"secret catalog: duplicate {kind} {value!r} ({e.env_var})")
                seen[kind].add(value)

    def max_age_days(self, group: str) -> int:
        """The strictest maximum age of a grouped secret's values: the group rotates as one."""
        return min(e.rotation.max_age_days for e in self.by_group[group])

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


# Grouping keeps the number of remote secrets (and so the provider calls ESO
# makes on every refresh) small: four AWS/Vault secrets for eight values.
CATALOG = Catalog(
    (
        SecretEntry("DATABASE_URL", "database", "url", "database-url", REQUIRED, "PostgreSQL connection string", DATABASE_CREDENTIALS),
        SecretEntry("ARAGORA_JWT_SECRET", "auth", "jwt-secret", "jwt-secret", SESSION, "Auth token signing secret, 32+ characters", SESSION_KEY),
        SecretEntry("ANTHROPIC_API_KEY", "api-keys", "anthropic", "anthropic-key", REQUIRED, "Anthropic API key (Claude models)"),
        SecretEntry("OPENAI_API_KEY", "api-keys", "openai", "openai-key", REQUIRED, "OpenAI API key (GPT models)"),
        SecretEntry("OPENROUTER_API_KEY", "api-keys", "openrouter", "openrouter-key", OPTIONAL, "OpenRouter API key (fallback, multi-model)"),
        SecretEntry("MISTRAL_API_KEY", "api-keys", "mistral", "mistral-key", OPTIONAL, "Mistral API key"),
        SecretEntry("STRIPE_SECRET_KEY", "billing", "stripe-secret-key", "stripe-secret-key", OPTIONAL, "Stripe secret key (billing)"),
        SecretEntry("STRIPE_WEBHOOK_SECRET", "billing", "stripe-webhook-secret", "stripe-webhook-secret", OPTIONAL, "Stripe webhook signing secret", WEBHOOK_SECRET),
    )
)


def env_prefix(environment: str) -> str:
    """The path every value of one environment lives under (AWS names, Vault paths)."""
    return f"aragora/{environment}/"


def grouped_path(environment: str, group: str) -> str:
    """``aragora/<env>/<group>``: the AWS secret name and the Vault KV path."""
    return f"{env_prefix(environment)}{group}"


def per_value_id(environment: str, entry: SecretEntry) -> str:
    """One secret per value, the environment in its name (GCP Secret Manager)."""
    return f"aragora-{environment}-{entry.slug}"


def sync_class_of(target_secret: str) -> SyncClass | None:
    """The sync class writing ``target_secret``, by its declared name."""
    return next((s for s in SYNC_CLASSES if s.target_secret == target_secret), None)

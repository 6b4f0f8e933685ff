"""The secret catalog: the one list of every value Aragora's pods receive.

Every backend (AWS Secrets Manager, Vault KV v2, GCP Secret Manager) and every
ExternalSecret is derived from ``CATALOG``. Adding a secret is one line here;
nothing else in the project names an individual secret.

What this module owns: the application's identity (``App``: its namespace,
Secret names, path prefix, labels: every name the project derives), the names
and grouping of each value, the sync classes (which Kubernetes Secret a value
lands in, how and when ESO refreshes it, whether `pulumi up` waits for it,
whether an operator may force a re-sync), and the rules that turn an entry
into a backend location. What it does not own: the values themselves, which
never appear in this repository (operators write them straight into the
backend, see docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from components.external_secrets import RefreshPolicy


@dataclass(frozen=True)
class App:
    """Who the secrets are for: the one place its names are written.

    Components never name the application; the program derives every name,
    label and prefix from this and passes it to them as arguments.
    """

    name: str
    """Prefix of every cloud resource name and backend path, the ``part-of`` label."""
    title: str
    """As descriptions write it, e.g. ``Aragora``."""
    namespace: str
    """The application's namespace: its ExternalSecrets and Secrets live there."""
    target_secret: str
    """The required values' Secret; the other sync classes add a suffix."""
    annotation_domain: str
    """Domain of this project's own annotations and tag keys."""

    def prefix(self, environment: str) -> str:
        """The path every value of one environment lives under (AWS names, Vault paths)."""
        return f"{self.name}/{environment}/"

    def grouped_path(self, environment: str, group: str) -> str:
        """``<app>/<env>/<group>``: the AWS secret name and the Vault KV path."""
        return f"{self.prefix(environment)}{group}"

    def resource_name(self, environment: str, *parts: str) -> str:
        """``<app>-<env>[-part...]``: IAM, KMS, Vault and GCP names of one environment."""
        return "-".join((self.name, environment, *parts))

    def per_value_id(self, environment: str, entry: SecretEntry) -> str:
        """One secret per value, the environment in its name (GCP Secret Manager)."""
        return self.resource_name(environment, entry.slug)

    def subject(self, environment: str) -> str:
        """Whose secrets, as descriptions say it: ``Aragora staging``."""
        return f"{self.title} {environment}"

    @property
    def labels(self) -> dict[str, str]:
        """On every Kubernetes object the project declares."""
        return {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": self.name}

    @property
    def jwt_rotation_annotation(self) -> str:
        return f"{self.annotation_domain}/jwt-rotation"

    @property
    def group_tag_key(self) -> str:
        """Tag (AWS) naming the group a grouped secret holds."""
        return f"{self.annotation_domain}/secret-group"

    @property
    def value_label_key(self) -> str:
        """Label (GCP) naming the value a per-value secret holds."""
        return f"{self.name}-secret"

    def target_secret_of(self, sync: SyncClass) -> str:
        """The Kubernetes Secret (and its ExternalSecret) of one sync class."""
        return f"{self.target_secret}{sync.suffix}"


ARAGORA = App(name="aragora", title="Aragora", namespace="aragora", target_secret="aragora-secrets", annotation_domain="aragora.io")


@dataclass(frozen=True)
class SyncClass:
    """How a group of values reaches the pods: one ExternalSecret and one Secret each."""

    name: str
    suffix: str
    """Added to the app's target Secret name: this class's Secret (and the ExternalSecret writing it)."""
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
    "required", "", RefreshPolicy.PERIODIC, await_ready=True, must_sync=True, rotation_marker=False
)
"""Refreshed every ``refreshInterval``; the app cannot start without them."""

SESSION = SyncClass(
    "session", "-session", RefreshPolicy.ON_CHANGE, await_ready=True, must_sync=True, rotation_marker=True
)
"""Session-signing keys: rotating one logs every user out, so a rotation is a
deliberate config change (``jwtRotation``), never a side effect of a refresh."""

OPTIONAL = SyncClass(
    "optional", "-optional", RefreshPolicy.PERIODIC, await_ready=False, must_sync=False, rotation_marker=False
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
maintenance window, then `jwtRotation` is bumped (docs/operations.md, Rotation rules)."""


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
    """An ordered, validated set of entries for one app; backends and ExternalSecrets are built from it."""

    def __init__(self, entries: Iterable[SecretEntry], app: App = ARAGORA):
        self.app = app
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

    def target_secret(self, sync: SyncClass) -> str:
        return self.app.target_secret_of(sync)

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

"""ESO's whole Vault login path, on a real OpenBao server per environment.

Each Vault example environment gets its own OpenBao server (127.0.0.1, free
port) and its own cluster: a loopback stand-in for the API server's TokenReview
(``tests/k8s_stub.py``). The auth method, its config, the role, the policy and
the KV mount are configured from the plan's rendered inputs; the one change is
``kubernetes_host``, pointed at the stand-in. ESO's token is minted as the
cluster would mint it for the store's ``serviceAccountRef`` (name, namespace,
audiences), and the login uses the store's ``mountPath`` and ``role``.
"""

from __future__ import annotations

import datetime
from contextlib import ExitStack

import hvac
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from hvac.exceptions import Forbidden, InvalidRequest

from components.eso_api import CLUSTER_SECRET_STORE_TYPE
from infra import catalog
from tests.k8s_stub import api_server
from tests.openbao import dev_server, remount
from tests.support import PLANS, plans_of, render

ENVS = {PLANS[name][0]: PLANS[name] for name in plans_of("vault")}


def _ca_pem() -> str:
    """A throwaway CA: the stand-in speaks plain HTTP, but the config requires one (as Vault does)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stub-cluster")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _inputs(plan, type_: str) -> dict:
    return plan.one(type_)["inputs"]


class Environment:
    def __init__(self, stack: str, plan, address: str, token: str, cluster):
        self.stack, self.plan, self.address, self.cluster = stack, plan, address, cluster
        self.root = hvac.Client(url=address, token=token, timeout=5)
        kubernetes = _inputs(plan, CLUSTER_SECRET_STORE_TYPE)["spec"]["provider"]["vault"]["auth"]["kubernetes"]
        self.mount_path, self.role = kubernetes["mountPath"], kubernetes["role"]
        self.service_account = kubernetes["serviceAccountRef"]
        self.kv = _inputs(plan, "vault:index/mount:Mount")["path"]
        self.policy = _inputs(plan, "vault:index/policy:Policy")

    def configure(self) -> None:
        """The server as the plan declares it; only kubernetes_host points at the stand-in."""
        auth = _inputs(self.plan, "vault:index/authBackend:AuthBackend")
        config = _inputs(self.plan, "vault:kubernetes/authBackendConfig:AuthBackendConfig")
        role = _inputs(self.plan, "vault:kubernetes/authBackendRole:AuthBackendRole")
        mount = _inputs(self.plan, "vault:index/mount:Mount")
        assert auth["path"] == self.mount_path and role["roleName"] == self.role
        self.root.sys.enable_auth_method(auth["type"], path=auth["path"])
        self.root.write(
            f"auth/{auth['path']}/config",
            kubernetes_host=self.cluster.url,
            kubernetes_ca_cert=config.get("kubernetesCaCert") and _ca_pem(),
            disable_local_ca_jwt=config.get("disableLocalCaJwt", False),
        )
        self.root.sys.create_or_update_policy(name=self.policy["name"], policy=self.policy["policy"])
        self.root.write(
            f"auth/{auth['path']}/role/{role['roleName']}",
            bound_service_account_names=role["boundServiceAccountNames"],
            bound_service_account_namespaces=role["boundServiceAccountNamespaces"],
            audience=role["audience"],
            token_policies=role["tokenPolicies"],
            token_ttl=role["tokenTtl"],
            token_max_ttl=role["tokenMaxTtl"],
        )
        remount(self.root, mount["path"], mount["type"], mount["options"])  # the dev server pre-mounts secret/
        for stack in ENVS:  # values of every environment on every server: reads must stay in their lane
            for group, entries in catalog.CATALOG.by_group.items():
                self.root.secrets.kv.v2.create_or_update_secret(
                    path=catalog.CATALOG.app.grouped_path(stack, group), secret={e.key: f"{stack}-{e.key}" for e in entries}, mount_point=self.kv
                )

    def eso_token(self, **changes) -> str:
        ref = {**self.service_account, **changes}
        return self.cluster.mint(ref["namespace"], ref["name"], ref["audiences"])

    def login(self, jwt: str, role: str | None = None) -> hvac.Client:
        auth = hvac.Client(url=self.address, timeout=5).auth.kubernetes.login(role or self.role, jwt, mount_point=self.mount_path)
        return hvac.Client(url=self.address, token=auth["auth"]["client_token"], timeout=5)


@pytest.fixture(scope="module")
def envs(tmp_path_factory):
    with ExitStack() as stack:
        out = {}
        for name, (env_stack, config_file) in ENVS.items():
            plan = render(env_stack, config_file)
            api_audience = plan.setting("vaultKubernetesApiAudience")
            cluster = stack.enter_context(api_server(api_audience))
            address, token = stack.enter_context(dev_server(tmp_path_factory.mktemp(f"bao-{name}")))
            out[name] = Environment(name, plan, address, token, cluster)
            out[name].configure()
        yield out


def test_there_are_two_vault_environments_to_keep_apart():
    assert len(ENVS) >= 2


@pytest.mark.parametrize("name", sorted(ENVS))
def test_esos_token_logs_in_with_exactly_the_environments_policy_and_reads_its_values(envs, name):
    env = envs[name]
    client = env.login(env.eso_token())
    assert set(client.auth.token.lookup_self()["data"]["policies"]) == {env.policy["name"], "default"}
    for entry in catalog.CATALOG:
        data = client.secrets.kv.v2.read_secret_version(
            path=catalog.CATALOG.app.grouped_path(name, entry.group), mount_point=env.kv, raise_on_deleted_version=True
        )["data"]["data"]
        assert data[entry.key] == f"{name}-{entry.key}"
    # In `eso` reviewer mode ESO's own token was the TokenReview credential.
    assert env.cluster.reviews[-1]["reviewer"] == "system:serviceaccount:external-secrets:external-secrets"


@pytest.mark.parametrize("name", sorted(ENVS))
def test_the_logged_in_token_cannot_read_another_environments_values(envs, name):
    env = envs[name]
    client = env.login(env.eso_token())
    for other in (s for s in ENVS if s != name):
        with pytest.raises(Forbidden):
            client.secrets.kv.v2.read_secret_version(path=catalog.CATALOG.app.grouped_path(other, catalog.CATALOG.entries[0].group), mount_point=env.kv, raise_on_deleted_version=True)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"name": "default"}, id="other-service-account"),
        pytest.param({"namespace": catalog.CATALOG.app.namespace}, id="other-namespace"),
        pytest.param({"audiences": ["https://kubernetes.default.svc", "not-vault"]}, id="without-the-role-audience"),
    ],
)
@pytest.mark.parametrize("name", sorted(ENVS))
def test_a_token_for_another_service_account_namespace_or_audience_is_refused(envs, name, changes):
    env = envs[name]
    if "audiences" in changes:
        changes = {"audiences": [env.plan.setting("vaultKubernetesApiAudience"), "not-vault"]}
    with pytest.raises((Forbidden, InvalidRequest)):
        env.login(env.eso_token(**changes))


@pytest.mark.parametrize("name", sorted(ENVS))
def test_without_the_api_servers_audience_the_reviewer_token_is_refused(envs, name):
    env = envs[name]
    with pytest.raises((Forbidden, InvalidRequest)):
        env.login(env.eso_token(audiences=[env.plan.setting("vaultAudience")]))


@pytest.mark.parametrize("name", sorted(ENVS))
def test_another_environments_cluster_token_is_refused_by_this_environments_role(envs, name):
    env = envs[name]
    for other_name, other in envs.items():
        if other_name == name:
            continue
        with pytest.raises((Forbidden, InvalidRequest)):
            env.login(other.eso_token())  # the other cluster's token, at this environment's server and role
        with pytest.raises((Forbidden, InvalidRequest)):
            other.login(env.eso_token(), role=other.role)

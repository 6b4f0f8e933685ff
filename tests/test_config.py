"""Each config key is defined once in Python and once in Pulumi.yaml, and the two agree;
environments are stack files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from types import UnionType
from typing import Annotated, get_args, get_origin

import pulumi
import pytest
import yaml
from pydantic import TypeAdapter

from infra import config, stackfiles
from infra.backends import REGISTRY
from infra.backends.aws.settings import AwsIdentity, Irsa, PodIdentity, partition_of
from infra.durations import go_duration_seconds
from infra.fields import ConfigError, Settings
from stacktools.recorder import render
from tests.support import PLANS, STACKS, plans_of

DECLARED: dict[str, dict] = yaml.safe_load((stackfiles.ROOT / "Pulumi.yaml").read_text())["config"]
MODELS: list[type[Settings]] = [config.CommonSettings, *(b.settings for b in REGISTRY.values())]
FIELDS = {
    (f.alias or name): (model, f) for model in MODELS for name, f in model.model_fields.items()
}
# A map has no `type` in Pulumi.yaml: the project schema types scalars and arrays only.
YAML_TYPES = {"string": str, "integer": int, "boolean": bool, "array": tuple, None: dict}


def _field_adapter(key: str) -> TypeAdapter:
    _, field = FIELDS[key]
    return TypeAdapter(Annotated[(field.annotation, *field.metadata)])


def test_every_pulumi_yaml_key_has_one_field_and_every_field_one_pulumi_yaml_key():
    owners = [f.alias for model in MODELS for f in model.model_fields.values()]
    assert len(owners) == len(set(owners)), "a key is owned by two models"
    assert set(owners) == set(DECLARED)


@pytest.mark.parametrize("key", sorted(DECLARED))
def test_declared_type_and_description_match_the_field(key):
    spec = DECLARED[key]
    assert spec.get("description"), key
    _, field = FIELDS[key]
    annotation = field.annotation
    if get_origin(annotation) is UnionType:  # optional: `X | None`
        (annotation,) = (a for a in get_args(annotation) if a is not type(None))
    base = get_origin(annotation) or annotation
    expected = YAML_TYPES[spec.get("type")]
    assert base is expected or (expected is str and issubclass(base, StrEnum)), (key, base)


@pytest.mark.parametrize("key", sorted(k for k, spec in DECLARED.items() if "default" in spec))
def test_every_declared_default_is_valid_for_its_field(key):
    default = stackfiles.encode_value(DECLARED[key]["default"])
    _field_adapter(key).validate_python(default)


def test_keys_without_a_default_are_exactly_the_ones_every_stack_must_set():
    assert {k for k, spec in DECLARED.items() if "default" not in spec} == {"kubeContext"}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_every_shipped_stack_and_example_parses_into_typed_settings(name):
    stack, config_file = PLANS[name]
    cfg = config.from_stack_file(stack, config_file)
    assert cfg.environment == stack
    assert type(cfg.backend) is REGISTRY[cfg.common.backend.value].settings
    assert isinstance(cfg.common.backend, StrEnum)


@pytest.mark.parametrize("name", plans_of("aws"))
def test_aws_identity_mode_is_typed_never_an_empty_string(name):
    stack, config_file = PLANS[name]
    raw = config.project_keys(stackfiles.stack_config(stack, config_file))
    irsa = config.parse(raw, stack).backend
    assert irsa.identity is AwsIdentity.IRSA and isinstance(irsa.trust, Irsa)
    assert irsa.trust.issuer.startswith("oidc.eks.") and "https://" not in irsa.trust.issuer
    pod = config.parse({**raw, "awsIdentity": "pod-identity", "awsEksClusterName": "c1"}, stack).backend
    assert pod.trust == PodIdentity(cluster_name="c1")


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("us-iso-east-1", "aws-iso"), ("us-isob-east-1", "aws-iso-b")],
)
def test_the_arn_partition_is_derived_from_the_region(region, partition):
    assert partition_of(region) == partition


@pytest.mark.parametrize(("text", "seconds"), [("1m", 60), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("24h", 86400)])
def test_go_durations_parse_as_eso_reads_them(text, seconds):
    assert go_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["1d", "5", "5 m", "５m", "1h\n", "", "-5m"])
def test_what_is_not_a_go_duration_is_refused(text):
    assert go_duration_seconds(text) is None


def test_config_error_is_reported_by_the_language_host_without_a_traceback():
    assert issubclass(ConfigError, pulumi.RunError)


def test_the_removed_environment_key_says_how_to_migrate():
    stack = STACKS[0]
    raw = {**config.project_keys(stackfiles.stack_config(stack)), "environment": stack}
    with pytest.raises(ConfigError, match=r"^aragora-secrets:environment: was removed: the stack name is the environment .*pulumi config rm environment"):
        config.parse(raw, stack)


def test_a_misspelt_key_is_named_with_its_nearest_declared_key():
    stack = STACKS[0]
    raw = {**config.project_keys(stackfiles.stack_config(stack)), "refreshIntreval": "5m"}
    with pytest.raises(ConfigError, match=r"^aragora-secrets:refreshIntreval: unknown key .*did you mean refreshInterval\?"):
        config.parse(raw, stack)


@pytest.mark.parametrize("stack", ["qa", "dev", "prod-eu-2", "x", "a" * 26])
def test_any_label_like_stack_name_is_an_environment(stack):
    raw = config.project_keys(stackfiles.stack_config(STACKS[0]))
    assert config.parse(raw, stack).environment == stack


@pytest.mark.parametrize("stack", ["QA", "qa_1", "qa.1", "-qa", "qa-", "a" * 27, "ｑａ", "qa\n"])
def test_a_stack_name_that_cannot_name_every_resource_is_refused(stack):
    raw = config.project_keys(stackfiles.stack_config(STACKS[0]))
    with pytest.raises(ConfigError, match="is not an environment name"):
        config.parse(raw, stack)


def _new_environment(tmp_path: Path, name: str) -> Path:
    """``cp Pulumi.<aws stack>.yaml Pulumi.<name>.yaml``, editing only account, OIDC id and context."""
    source_stack, _ = PLANS[plans_of("aws")[0]]
    text = (stackfiles.ROOT / f"Pulumi.{source_stack}.yaml").read_text()
    doc = yaml.safe_load(text)["config"]
    account = str(doc["aragora-secrets:awsAccountId"])
    arn = doc["aragora-secrets:awsOidcProviderArn"]
    oidc_id = arn.rsplit("/", 1)[1]
    text = (
        text.replace(account, "999988887777")
        .replace(oidc_id, "0123456789ABCDEF0123456789ABCDEF")
        .replace(doc["aragora-secrets:kubeContext"], f"aragora-{name}")
    )
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text)
    return path


def test_a_copied_stack_file_is_a_new_environment_with_no_code_change(tmp_path):
    path = _new_environment(tmp_path, "qa")
    assert stackfiles.environments(tmp_path) == ["qa"]
    plan = render("qa", path)
    names = sorted(r["inputs"]["name"] for r in plan.of_type("aws:secretsmanager/secret:Secret"))
    assert names and all(n.startswith("aragora/qa/") for n in names)
    assert plan.one("aws:iam/role:Role")["inputs"]["name"] == "aragora-qa-eso"
    assert plan.outputs["environment"] == "qa"
    assert plan.one("pulumi:providers:kubernetes")["inputs"]["context"] == "aragora-qa"
    assert all(r["urn"].startswith("urn:pulumi:qa::aragora-secrets::") for r in plan.resources)


def test_the_plan_command_takes_the_stack_from_a_stack_file_name(tmp_path, capsys):
    from stacktools import plan

    path = _new_environment(tmp_path, "qa")
    assert plan.main(["--config-file", str(path)]) == 0
    assert "Previewing update (qa)" in capsys.readouterr().out

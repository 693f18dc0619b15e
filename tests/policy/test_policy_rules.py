"""The project policy's rules, one decision at a time (the end-to-end matrix is in tests/integration)."""

from __future__ import annotations

import pytest

from shotbridge.models import DataKind, ProjectPolicy, Provider, ProviderGrant, ProviderKind
from shotbridge_backend.policy import decide, in_region

ALL = set(DataKind)


def provider(name="cloudy", kind=ProviderKind.cloud, trains=False, retention=0, location="us-east-1") -> Provider:
    return Provider(name=name, title=name, kind=kind, operations=[], trains_on_inputs=trains,
                    retention_days=retention, data_location=location)


def test_default_policy_keeps_everything_local_and_on_premises():
    policy = ProjectPolicy()
    assert decide(policy, provider("local", ProviderKind.local), ALL).allowed
    assert decide(policy, provider("gpu", ProviderKind.onprem, location="studio"), ALL).allowed
    refused = decide(policy, provider("openai"), {DataKind.prompt}, "show")
    assert (refused.allowed, refused.rule) == (False, "no-grant")
    assert "project 'show'" in refused.detail and "shotbridge policy allow openai" in refused.detail


@pytest.mark.parametrize("kind", [ProviderKind.onprem, ProviderKind.cloud])
def test_a_provider_that_trains_on_inputs_gets_nothing_even_with_a_grant(kind):
    policy = ProjectPolicy(grants=[ProviderGrant(provider="cloudy")], max_retention_days=365)
    decision = decide(policy, provider(kind=kind, trains=True), {DataKind.prompt})
    assert (decision.allowed, decision.rule) == (False, "no-training")


def test_onprem_can_be_switched_off():
    decision = decide(ProjectPolicy(onprem=False), provider("gpu", ProviderKind.onprem), {DataKind.plate})
    assert (decision.allowed, decision.rule) == (False, "onprem-off")
    assert decide(ProjectPolicy(onprem=False), provider("local", ProviderKind.local), ALL).allowed


def test_a_grant_names_what_may_leave():
    policy = ProjectPolicy(grants=[ProviderGrant(provider="cloudy", data=[DataKind.prompt, DataKind.plate])])
    assert decide(policy, provider(), {DataKind.prompt, DataKind.plate}).allowed
    decision = decide(policy, provider(), {DataKind.prompt, DataKind.reference})
    assert (decision.allowed, decision.rule) == (False, "data-not-granted")
    assert "not reference" in decision.detail


def test_retention_beyond_the_limit_is_refused():
    grant = [ProviderGrant(provider="cloudy")]
    assert not decide(ProjectPolicy(grants=grant), provider(retention=30), ALL).allowed
    assert decide(ProjectPolicy(grants=grant), provider(retention=30), ALL).rule == "retention"
    assert decide(ProjectPolicy(grants=grant, max_retention_days=30), provider(retention=30), ALL).allowed


def test_regions():
    grant = [ProviderGrant(provider="cloudy")]
    eu = ProjectPolicy(grants=grant, regions=["eu"])
    assert decide(eu, provider(location="eu-west-1"), ALL).allowed
    decision = decide(eu, provider(location="us-east-1"), ALL)
    assert (decision.allowed, decision.rule) == (False, "region")
    assert decide(ProjectPolicy(grants=grant), provider(location="ap-south-1"), ALL).allowed  # no regions: any
    assert in_region("EU-West-1", ["eu"]) and not in_region("europe", ["eu"]) and in_region("us", ["us"])


def test_policy_json_is_strict_so_a_typo_cannot_open_a_door():
    with pytest.raises(ValueError, match="grant"):
        ProjectPolicy.model_validate({"grant": [{"provider": "openai"}]})
    with pytest.raises(ValueError):
        ProjectPolicy.model_validate({"grants": [{"provider": "openai", "data": ["everything"]}]})
    with pytest.raises(ValueError, match="dat"):
        ProjectPolicy.model_validate({"grants": [{"provider": "openai", "dat": ["prompt"]}]})

"""Project policy: may this data go to this provider? Decided before any byte leaves, with the rule named.

Rules, in the order they are checked (the first that refuses names the refusal):
- `local`: this machine's CPU is always allowed; nothing leaves it.
- `no-training`: a provider that may train on inputs never receives anything, whatever the grants say.
- `onprem-off`: the studio's own servers receive data unless the project turned `onprem` off.
- `no-grant`: a cloud provider needs a grant in the project's policy.
- `data-not-granted`: the grant lists what the provider may receive (prompts, plates, references, masks).
- `retention`: the provider keeps inputs longer than the project's `max_retention_days`.
- `region`: the provider processes data outside the project's `regions` ("eu" allows "eu-west-1").
"""

from __future__ import annotations

from collections.abc import Iterable

from shotbridge.models import DataKind, PolicyDecision, ProjectPolicy, Provider, ProviderKind


def _refuse(provider: str, rule: str, detail: str) -> PolicyDecision:
    return PolicyDecision(provider=provider, allowed=False, rule=rule, detail=detail)


def in_region(location: str, regions: list[str]) -> bool:
    location = location.lower()
    return any(location == r.lower() or location.startswith(r.lower() + "-") for r in regions)


def decide(policy: ProjectPolicy, provider: Provider, data: Iterable[DataKind], project: str = "") -> PolicyDecision:
    name, kinds = provider.name, set(data)
    where = f"project '{project}'" if project else "the project"
    if provider.kind == ProviderKind.local:
        return PolicyDecision(provider=name, allowed=True)
    if provider.trains_on_inputs:
        return _refuse(name, "no-training", f"Provider '{name}' may train on the data it is sent; ShotBridge never "
                                            "sends studio data to such a provider.")
    if provider.kind == ProviderKind.onprem:
        if not policy.onprem:
            return _refuse(name, "onprem-off", f"The policy of {where} keeps data on this machine "
                                               f"(onprem is off), so the studio server '{name}' gets nothing.")
        return PolicyDecision(provider=name, allowed=True)
    grant = next((g for g in policy.grants if g.provider == name), None)
    if grant is None:
        return _refuse(name, "no-grant", f"The policy of {where} does not allow the cloud provider '{name}'. A "
                                         f"supervisor can grant it: `shotbridge policy allow {name} -p PROJECT`.")
    missing = sorted(k.value for k in kinds - set(grant.data))
    if missing:
        return _refuse(name, "data-not-granted",
                       f"The policy of {where} lets '{name}' receive {', '.join(sorted(k.value for k in grant.data))}"
                       f" but not {', '.join(missing)}, which this job would send.")
    if provider.retention_days > policy.max_retention_days:
        return _refuse(name, "retention", f"'{name}' keeps inputs for {provider.retention_days} day(s); the policy "
                                          f"of {where} allows at most {policy.max_retention_days}.")
    if policy.regions and not in_region(provider.data_location, policy.regions):
        return _refuse(name, "region", f"'{name}' processes data in {provider.data_location}; the policy of {where}"
                                       f" allows only {', '.join(policy.regions)}.")
    return PolicyDecision(provider=name, allowed=True)


def load_policy(db, project_id: str) -> ProjectPolicy:
    """The project's policy; the default (local and on-premises only) when none was set."""
    from .db import PolicyRow

    with db.session() as s:
        row = s.get(PolicyRow, project_id)
        return ProjectPolicy.model_validate(row.policy) if row else ProjectPolicy()


def save_policy(db, project_id: str, policy: ProjectPolicy) -> ProjectPolicy:
    from .db import PolicyRow

    with db.session() as s:
        s.merge(PolicyRow(project_id=project_id, policy=policy.model_dump(mode="json", by_alias=True)))
    return policy

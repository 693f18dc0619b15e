"""`shotbridge providers | policy | estimate | audit`: who may receive a project's data, and what left.

JSON shapes are the API's (ProjectPolicy, Provider, Estimate, EgressRecord in /openapi.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .models import DataKind, ProjectPolicy, ProviderGrant, ProviderKind


def register(sub) -> None:
    p = sub.add_parser("providers", help="the providers this backend offers, their promises and health")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_providers)

    p = sub.add_parser("operations", help="the operations, and per operation the providers (and ComfyUI "
                                          "templates) that can run it now")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_operations)

    p = sub.add_parser("policy", help="which providers may receive a project's data (admin token to change)")
    psub = p.add_subparsers(metavar="ACTION", required=True)
    c = psub.add_parser("show", help="the project's policy")
    _project(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_policy_show)
    c = psub.add_parser("allow", help="let a provider receive the project's data (a grant for a cloud provider; "
                                      "the studio's own servers follow the onprem switch)")
    _project(c)
    c.add_argument("provider")
    c.add_argument("--data", help=f"what it may receive, comma separated: {', '.join(k.value for k in DataKind)} "
                                  "(default: all)")
    c.add_argument("--max-retention", type=int, help="longest retention (days) any cloud provider may have")
    c.add_argument("--region", action="append", default=None, help="an allowed data location (repeatable)")
    c.set_defaults(func=cmd_policy_allow)
    c = psub.add_parser("deny", help="take a cloud provider's grant away")
    _project(c)
    c.add_argument("provider")
    c.set_defaults(func=cmd_policy_deny)
    c = psub.add_parser("set", help="replace the policy with a JSON file (ProjectPolicy)")
    _project(c)
    c.add_argument("file", type=Path)
    c.set_defaults(func=cmd_policy_set)
    c = psub.add_parser("reset", help="back to the default: this machine and the studio's own servers only")
    _project(c)
    c.set_defaults(func=cmd_policy_reset)

    p = sub.add_parser("estimate", help="which providers could run a job, what the policy says, the cost")
    p.add_argument("operation")
    _project(p)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("audit", help="every request sent to a provider for a project")
    _project(p)
    p.add_argument("--job", help="only this job's requests")
    p.add_argument("--provider")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)


def _project(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", "-p", help="project name or id (default: $SHOTBRIDGE_PROJECT)")


def _client(args):
    from .cli import client_for

    return client_for(args)


def _project_of(args) -> str:
    from .cli import project_for

    return project_for(args)


def cmd_providers(args) -> int:
    with _client(args) as client:
        providers = client.providers()
    if args.json:
        print(json.dumps([p.model_dump(mode="json") for p in providers], indent=2))
        return 0
    for p in providers:
        state = "ok" if p.available else f"unavailable: {p.reason}"
        trains = "TRAINS ON INPUTS" if p.trains_on_inputs else "no training"
        print(f"{p.name:<14} {p.kind.value:<7} {p.type:<8} {trains}, keeps {p.retention_days} d, in "
              f"{p.data_location}  [{state}]")
        if p.operations:
            print(f"{'':<14} {', '.join(p.operations)}")
        for t in p.templates:
            from .doctor import models_line

            state = "ok" if t.available else f"cannot run: {t.reason}"
            size = f", {t.size_gb:g} GB of models" if t.size_gb else ""
            print(f"{'':<14} template {t.name} ({t.task}, {t.source}{size}) [{state}]")
            print(f"{'':<14}   {models_line(t.models)}")
        for server in p.servers:
            why = f": {server.reason}" if server.reason else ""
            print(f"{'':<14} server {server.url} [{server.state}{why}] queue {server.queue}")
    return 0


def cmd_operations(args) -> int:
    with _client(args) as client:
        operations = client.operations()
    if args.json:
        print(json.dumps([{k: v for k, v in o.model_dump(mode="json").items()
                           if k not in ("params_schema", "result_schema")} for o in operations], indent=2))
        return 0
    for op in operations:
        print(f"{op.name:<20} {'ok' if op.available else f'unavailable: {op.reason}'}")
        for route in op.routes:
            templates = f" templates {', '.join(route.templates)}" if route.templates else ""
            state = "ok" if route.available else f"cannot run it now: {route.reason}"
            print(f"{'':<20} {route.provider}{templates} [{state}]")
    return 0


def print_policy(policy: ProjectPolicy, kinds: dict[str, ProviderKind] | None = None) -> None:
    """The policy in words; `kinds` (provider name -> kind, from the backend) says what each grant is for."""
    kinds = kinds or {}
    print("this machine: always")
    print(f"studio servers (onprem): {'yes' if policy.onprem else 'no'}")
    cloud = [g for g in policy.grants if kinds.get(g.provider, ProviderKind.cloud) == ProviderKind.cloud]
    if not cloud:
        print("cloud providers: none (nothing leaves the studio)")
    for g in cloud:
        print(f"cloud: {g.provider} may receive {', '.join(k.value for k in g.data)}")
    for g in policy.grants:
        if g not in cloud:  # a grant written for a provider that is not in the cloud changes nothing
            where = "a studio server" if kinds[g.provider] == ProviderKind.onprem else "on this machine"
            print(f"{g.provider} is {where}: its grant has no effect (see 'studio servers' and 'this machine')")
    print(f"longest retention allowed: {policy.max_retention_days} day(s)")
    print(f"regions: {', '.join(policy.regions) if policy.regions else 'any'}")


def _kinds(client) -> dict[str, ProviderKind]:
    return {p.name: p.kind for p in client.providers()}


def cmd_policy_show(args) -> int:
    with _client(args) as client:
        policy = client.policy(_project_of(args))
        kinds = {} if args.json else _kinds(client)
    if args.json:
        print(policy.model_dump_json(indent=2, by_alias=True))
    else:
        print_policy(policy, kinds)
    return 0


def _update(args, change) -> int:
    project = _project_of(args)
    with _client(args) as client:
        policy = client.set_policy(project, change(client.policy(project)))
        kinds = _kinds(client)
    print_policy(policy, kinds)
    return 0


def cmd_policy_allow(args) -> int:
    data = list(DataKind) if not args.data else [DataKind(v.strip()) for v in args.data.split(",") if v.strip()]
    project = _project_of(args)
    with _client(args) as client:
        kinds = _kinds(client)
        kind = kinds.get(args.provider)
        if kind in (ProviderKind.local, ProviderKind.onprem):
            return _allow_inside(client, project, args, kind, kinds)

    def change(policy: ProjectPolicy) -> ProjectPolicy:
        grants = [g for g in policy.grants if g.provider != args.provider]
        grants.append(ProviderGrant(provider=args.provider, data=data))
        update = {"grants": grants}
        if args.max_retention is not None:
            update["max_retention_days"] = args.max_retention
        if args.region is not None:
            update["regions"] = args.region
        return policy.model_copy(update=update)

    return _update(args, change)


def _allow_inside(client, project: str, args, kind: ProviderKind, kinds: dict[str, ProviderKind]) -> int:
    """`allow` for a provider that is not in the cloud: no grant; the studio's servers follow `onprem`."""
    policy = client.policy(project)
    if kind == ProviderKind.local:
        print(f"{args.provider} runs on this machine: it is always allowed, and nothing it is given leaves it.")
    else:
        if not policy.onprem:
            policy = client.set_policy(project, policy.model_copy(update={"onprem": True}))
        print(f"{args.provider} is one of the studio's own servers (on-premises, not cloud): it receives the "
              "project's data while studio servers are allowed, which they now are; it needs no grant.")
    if args.data or args.max_retention is not None or args.region is not None:
        print("--data, --max-retention and --region limit cloud providers only; nothing was changed for them.")
    print_policy(policy, kinds)
    return 0


def cmd_policy_deny(args) -> int:
    return _update(args, lambda p: p.model_copy(update={"grants": [g for g in p.grants if g.provider != args.provider]}))


def cmd_policy_set(args) -> int:
    policy = ProjectPolicy.model_validate_json(args.file.read_text(encoding="utf-8"))
    return _update(args, lambda _old: policy)


def cmd_policy_reset(args) -> int:
    return _update(args, lambda _old: ProjectPolicy())


def cmd_estimate(args) -> int:
    from .cli import parse_params

    params = parse_params(args.param)
    with _client(args) as client:
        estimate = client.estimate(_project_of(args), args.operation, params)
    if args.json:
        print(estimate.model_dump_json(indent=2))
        return 0
    costs = {c.provider: c for c in estimate.costs}
    for d in estimate.decisions:
        cost = costs.get(d.provider)
        money = f"{cost.amount:.4g} {cost.unit}" if cost else "?"
        verdict = "allowed" if d.allowed else f"REFUSED [{d.rule}] {d.detail}"
        print(f"{d.provider:<14} {money:<18} {verdict}")
    if not estimate.decisions:
        print(f"no configured provider implements {estimate.operation}")
    return 0


def cmd_audit(args) -> int:
    with _client(args) as client:
        records = client.audit(_project_of(args), job=args.job, provider=args.provider, limit=args.limit)
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return 0
    if not records:
        print("nothing was sent to any provider")
    for r in reversed(records):
        when = r.time.strftime("%Y-%m-%d %H:%M:%S")
        status = r.status if r.status is not None else "-"
        print(f"{when}  {r.provider:<12} {r.operation:<16} {r.method:<4} {status!s:<4} {r.outcome:<8} "
              f"{r.bytes_sent:>10} B  job {r.job_id[:12]}  token {r.token_id}  {r.url}")
        for a in r.assets:
            stripped = f"  (stripped {', '.join(a.stripped)})" if a.stripped else ""
            print(f"{'':<22}{a.kind.value:<9} {a.role:<12} {a.size:>10} B  sha256 {a.sha256}{stripped}")
    return 0

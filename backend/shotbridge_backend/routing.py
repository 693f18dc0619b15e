"""Which provider runs a job: one that implements the operation, that the project's policy allows for the data
the job would send, and that is up. A refusal names the rule; nothing is sent while routing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shotbridge.models import CostEstimate, Estimate, OperationRoute, PolicyDecision, ProjectPolicy

from .operations import Operation
from .policy import decide
from .providers import ProviderAdapter, Registry


class RouteError(Exception):
    def __init__(self, status: int, title: str, detail: str, rule: str = ""):
        super().__init__(detail)
        self.status, self.title, self.detail, self.rule = status, title, detail, rule


def decision(policy: ProjectPolicy, adapter: ProviderAdapter, op: Operation, params: Any,
             project: str) -> PolicyDecision:
    return decide(policy, adapter.describe([]), op.data_kinds(params, adapter.accepts_references), project)


def readiness(registry: Registry, adapter: ProviderAdapter, op: Operation) -> str:
    """"" when the provider is up and can run this operation's task now (a ComfyUI with a template for it
    that runs on its server), else why not."""
    reason = registry.health(adapter) if adapter.kind != "local" else ""
    return reason or adapter.task_health(getattr(op, "task", None))


def routes(registry: Registry, op: Operation) -> list[OperationRoute]:
    """Per provider that implements the operation: can it run it now, and with which templates."""
    adapters = registry.implementing(op)
    if not adapters:
        return []
    with ThreadPoolExecutor(max_workers=len(adapters)) as pool:  # health checks of different servers at once
        reasons = list(pool.map(lambda a: readiness(registry, a, op), adapters))
    return [OperationRoute(provider=a.name, available=not reason, reason=reason,
                           templates=a.templates_for(getattr(op, "task", None)))
            for a, reason in zip(adapters, reasons, strict=True)]


def _able(registry: Registry, op: Operation, but: ProviderAdapter) -> str:
    able = [a.name for a in registry.implementing(op) if a is not but and not readiness(registry, a, op)]
    return (f" {', '.join(able)} can run '{op.name}' now." if able else
            f" No other configured provider can run '{op.name}' now (`shotbridge operations` says why).")


def choose(registry: Registry, policy: ProjectPolicy, op: Operation, params: Any, requested: str | None,
           project: str) -> ProviderAdapter:
    candidates = registry.implementing(op)
    if requested is not None:
        adapter = registry.get(requested)
        if adapter is None:
            raise RouteError(422, "Unknown provider", f"No provider '{requested}'; this backend has "
                             f"{', '.join(sorted(registry.adapters))} (see `shotbridge providers`).")
        if adapter not in candidates:
            raise RouteError(422, "Provider cannot do this",
                             f"Provider '{requested}' does not implement '{op.name}'; "
                             + (f"use {', '.join(a.name for a in candidates)}." if candidates else
                                "no configured provider does."))
        candidates = [adapter]
    if not candidates:
        raise RouteError(422, "No provider", f"No configured provider implements '{op.name}'. Add one to "
                         "providers.toml (ComfyUI on the studio's GPUs, or a cloud provider; docs/providers.md).")
    refusals, down = [], []
    for adapter in candidates:
        verdict = decision(policy, adapter, op, params, project)
        if not verdict.allowed:
            refusals.append(verdict)
            continue
        reason = readiness(registry, adapter, op)  # up, and able to run this task (a template that runs)
        if reason:
            down.append(f"{adapter.name}: {reason}")
            continue
        return adapter
    if refusals and not down:
        first = refusals[0]
        detail = " ".join(f"[{r.rule}] {r.detail}" for r in refusals)
        raise RouteError(403, "Refused by policy", detail, first.rule)
    detail = "; ".join(down + [f"{r.provider}: refused by policy [{r.rule}]" for r in refusals])
    if requested is not None:  # the one asked for cannot run it now: say who can
        detail += "." + _able(registry, op, candidates[0])
    raise RouteError(503, "Provider unavailable", detail)


def estimate(registry: Registry, policy: ProjectPolicy, op: Operation, params: Any, project: str) -> Estimate:
    decisions, costs = [], []
    for adapter in registry.implementing(op):
        verdict = decision(policy, adapter, op, params, project)
        decisions.append(verdict)
        preview = op.preview_request(params) if hasattr(op, "preview_request") else None
        if preview is not None:
            costs.append(adapter.estimate(preview))
        else:
            costs.append(CostEstimate(provider=adapter.name, amount=0.0, unit="CPU-seconds", note="runs here"))
    return Estimate(operation=op.name, decisions=decisions, costs=costs)

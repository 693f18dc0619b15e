"""Which provider runs a job: one that implements the operation, that the project's policy allows for the data
the job would send, and that is up. A refusal names the rule; nothing is sent while routing."""

from __future__ import annotations

from typing import Any

from shotbridge.models import CostEstimate, Estimate, PolicyDecision, ProjectPolicy

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
        reason = registry.health(adapter) if adapter.kind != "local" else ""
        # Up, but maybe not for this operation: a ComfyUI whose templates for its task cannot run here.
        reason = reason or adapter.task_health(getattr(op, "task", None))
        if reason:
            down.append(f"{adapter.name}: {reason}")
            continue
        return adapter
    if refusals and not down:
        first = refusals[0]
        detail = " ".join(f"[{r.rule}] {r.detail}" for r in refusals)
        raise RouteError(403, "Refused by policy", detail, first.rule)
    raise RouteError(503, "Provider unavailable", "; ".join(down + [f"{r.provider}: refused by policy [{r.rule}]"
                                                                    for r in refusals]))


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

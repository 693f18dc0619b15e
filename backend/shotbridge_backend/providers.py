"""Providers: who runs an operation, and what they promise about the data they are sent."""

from __future__ import annotations

from shotbridge.models import Provider

from .operations import CATALOGUE


def local_provider() -> Provider:
    return Provider(
        name="local",
        title="Embedded (this machine's CPU)",
        kind="local",
        operations=sorted(name for name, op in CATALOGUE.items() if not op.unavailable_reason()),
        trains_on_inputs=False,
        retention_days=0,
        data_location="this machine",
    )


def all_providers() -> list[Provider]:
    return [local_provider()]


def choose(operation: str, requested: str | None) -> Provider:
    """The provider for a job: the one asked for, else the first available one that implements it."""
    providers = {p.name: p for p in all_providers()}
    if requested is not None:
        provider = providers.get(requested)
        if provider is None:
            raise LookupError(f"unknown provider '{requested}'; known: {', '.join(sorted(providers))}")
        if operation not in provider.operations:
            raise LookupError(f"provider '{requested}' does not implement '{operation}'")
        if not provider.available:
            raise LookupError(f"provider '{requested}' is unavailable: {provider.reason}")
        return provider
    for provider in providers.values():
        if operation in provider.operations and provider.available:
            return provider
    raise LookupError(f"no available provider implements '{operation}'")

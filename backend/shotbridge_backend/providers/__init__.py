"""Providers: who runs an operation, what they promise about the data they are sent, and the one way a job
talks to them (see base.py for the adapter interface, session.py for the audited line, registry.py for
providers.toml)."""

from .base import (
    Generated,
    GenerationRequest,
    InputImage,
    ProviderAdapter,
    ProviderError,
    ProviderFacts,
    ProviderTimeout,
    ProviderUnavailable,
    Task,
)
from .registry import ConfigError, Registry
from .session import Outgoing, PolicyRefused, ProviderSession

__all__ = ["ConfigError", "Generated", "GenerationRequest", "InputImage", "Outgoing", "PolicyRefused",
           "ProviderAdapter", "ProviderError", "ProviderFacts", "ProviderSession", "ProviderTimeout",
           "ProviderUnavailable", "Registry", "Task"]

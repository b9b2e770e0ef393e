"""The sandbox: a faithful local fake of the Wooxy API for rehearsals and tests.

``server`` is the Starlette app and its uvicorn runner; ``rules`` holds the API page's rules and
error texts that the app applies.
"""

from wooxy_bulk.sandbox.rules import SandboxConfig, SandboxState
from wooxy_bulk.sandbox.server import RunningSandbox, create_app, running_sandbox, serve

__all__ = [
    "RunningSandbox",
    "SandboxConfig",
    "SandboxState",
    "create_app",
    "running_sandbox",
    "serve",
]

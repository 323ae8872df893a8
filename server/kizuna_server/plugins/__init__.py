"""Kizuna plugins: what a plugin author imports (docs/plugins.md).

from kizuna_server.plugins import Invocation, Plugin, PluginContext, Reply, command
"""

from kizuna_server.plugins.api import (
    CommandInfo,
    Invocation,
    Plugin,
    PluginContext,
    Reply,
    command,
    local_command,
)

__all__ = [
    "CommandInfo",
    "Invocation",
    "Plugin",
    "PluginContext",
    "Reply",
    "command",
    "local_command",
]

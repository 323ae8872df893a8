"""kizuna_client: the Python client of a Kizuna daemon's local gRPC API (kizuna.v1).

`Kizuna` is the typed async wrapper (also importable as ``from kizuna import Kizuna``, the seed
binding's name); `kizuna_client.v1` holds the generated message and service modules for
everything the wrapper does not cover:

```python
import asyncio
from kizuna_client import Kizuna

async def main() -> None:
    async with Kizuna() as k:
        print((await k.node()).device_id_display)

asyncio.run(main())
```
"""

import os

# Before grpc is imported (it reads this once, at import): a daemon embedded in this process
# runs allow-listed programs by fork and exec, which gRPC's fork handlers crash while its threads
# run (grpc/grpc#43055). An app that forks children which use gRPC may set it to true first.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from kizuna_client.client import (
    EventSubscription,
    Kizuna,
    PairingCallback,
    PeerConnection,
    StreamHandle,
    TransferHandle,
    split_command,
)
from kizuna_client.commands import Output, RemoteCommand
from kizuna_client.configuration import KizunaConfig, StreamKind, TrustMode
from kizuna_client.errors import *  # noqa: F403 - every exception class is public API
from kizuna_client.errors import ERRORS_BY_REASON, KizunaError, error_from_rpc
from kizuna_client.types import (
    CommandResult,
    EventGap,
    KizunaEvent,
    NodeInfo,
    PairingInfo,
    PeerInfo,
    PeerPermissions,
    StreamFrame,
    Subsystem,
    TransferInfo,
    TransferProgress,
)

__version__ = "0.1.0"

__all__ = [
    "ERRORS_BY_REASON",
    "CommandResult",
    "EventGap",
    "EventSubscription",
    "Kizuna",
    "KizunaConfig",
    "KizunaError",
    "KizunaEvent",
    "NodeInfo",
    "Output",
    "PairingCallback",
    "PairingInfo",
    "PeerConnection",
    "PeerInfo",
    "PeerPermissions",
    "RemoteCommand",
    "StreamFrame",
    "StreamHandle",
    "StreamKind",
    "Subsystem",
    "TransferHandle",
    "TransferInfo",
    "TransferProgress",
    "TrustMode",
    "error_from_rpc",
    "split_command",
]

"""Kizuna daemon: local gRPC API, peer discovery and links, transfers, streams and commands.

The package is wired together in `kizuna_server.app`; `kizuna_server.cli` is the `kizuna` command.
"""

import os

# gRPC's fork handlers crash a child forked while gRPC threads run (grpc/grpc#43055, seen here
# with grpcio 1.85 as the allow-listed program aborting before exec: "Check failed:
# next_worker->state == KICKED"). The daemon forks only to execute programs and never uses gRPC
# in a child, so it needs no fork support. gRPC reads this once, when `grpc` is imported: this
# package (and kizuna_client, which the daemon imports) sets it before that.
os.environ["GRPC_ENABLE_FORK_SUPPORT"] = "false"

__version__ = "0.1.0"

#: Version of the daemon-to-daemon protocol (kizuna.peer.v1) this daemon speaks.
PROTOCOL_VERSION = 1

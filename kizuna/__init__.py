"""Kizuna for Python, in the form of the original binding: ``from kizuna import Kizuna``.

Everything here is `kizuna_client`'s (the same objects); this package exists so programs written
for the seed's binding run unchanged::

    import asyncio
    from kizuna import Kizuna

    async def main() -> None:
        kizuna = Kizuna()
        try:
            for peer in await kizuna.discover_peers():
                print(peer.name, peer.id)
        finally:
            await kizuna.shutdown()

    asyncio.run(main())
"""

from kizuna_client import *  # noqa: F403 - the same public API under the seed's name
from kizuna_client import __version__ as __version__
from kizuna_client.errors import *  # noqa: F403 - every exception class is public API

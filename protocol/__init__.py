"""easgw's sans-IO protocol layer: bytes in, typed values out.

Nothing here imports aiohttp, asyncio, sqlalchemy, httpx, ``easgw`` or
``providers``, and nothing here logs (tests/protocol/test_sans_io.py checks).
"""

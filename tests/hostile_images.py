"""Small files that claim huge or absurd images, for the limit tests and benchmarks/bombs.py."""

import struct
import zlib


def png_bytes(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    """A valid all-black PNG of any size (colour type 0: grey, 2: RGB), compressed row by row,
    so writing even a 13,000 x 13,000 one costs no memory."""
    bits_per_pixel = {0: 1, 2: 3}[colour_type] * bit_depth
    row = b"\0" + bytes((width * bits_per_pixel + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


THIN = dict(width=1, height=131_000)  # ~600 bytes; 3-4 GB and 8-12 s as a reference before the limits
MILLION = dict(width=1, height=1_000_000)  # ~4 KB; a bare MemoryError before
HUGE_16_BIT = dict(width=13_000, height=13_000, bit_depth=16, colour_type=0)  # ~330 KB, 169 MP; 5 GB, 33 s before
DENSE = dict(width=3000, height=3000, bit_depth=1, colour_type=0)  # ~1 KB claiming 9 MP

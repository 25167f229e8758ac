#!/usr/bin/env python3
"""mktlsseeds.py - seeds for fuzz_tls: the real TLS conversations of tests/data/tls/tls_samples.h
(openssl s_server/s_client on loopback), each segment as one chunk of fuzz_tls.c's format.

    python3 tests/fuzz/mktlsseeds.py OUTDIR
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "data", "tls", "tls_samples.h")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    text = open(SAMPLES).read()
    n = 0
    for m in re.finditer(r"static const uint8_t (\w+)_bytes\[\] = \{([^}]*)\};", text):
        name, body = m.group(1), m.group(2)
        data = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", body))
        segs = re.search(r"static const struct tls_sample_seg %s_segs\[\] = \{(.*?)\n\};" % name,
                         text, re.S)
        seed = bytearray([0])
        for d, off, ln in re.findall(r"\{(\d+), (\d+), (\d+)\}", segs.group(1)):
            chunk = data[int(off):int(off) + int(ln)]
            seed += bytes([0x80 if d == "1" else 0]) + len(chunk).to_bytes(2, "big") + chunk
        seed += b"\x7f"  # the client closes
        with open(os.path.join(out, name), "wb") as f:
            f.write(seed)
        n += 1
    print("tls seeds: %d written to %s" % (n, out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""extract-tls-samples.py DIR NAME... - the TCP payloads of DIR/NAME.pcap as a C header.

Reads each capture made by make-tls-samples.sh (classic pcap, Ethernet or Linux cooked,
IPv4, one TCP connection), keeps each direction's payload once and in sequence order
(retransmissions dropped), and writes DIR/tls_samples.h: per capture one byte array of all
payloads in capture order and a table of segments {direction, offset, length}. The client is
the side that sent the SYN. Only the standard library is used.

Beside them, per capture: NAME_ts, the capture time of its first packet (Unix seconds),
and, when make-tls-samples.sh wrote DIR/NAME.cert.txt (what `openssl x509` printed for the
certificate the server sent), NAME_cert: those facts as C values, plus the chain length
from s_client's own "Certificate chain" in DIR/NAME.client.log.
"""
import calendar
import re
import struct
import sys
import time


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        end = "<"
    elif magic == b"\xa1\xb2\xc3\xd4":
        end = ">"
    else:
        raise SystemExit(f"{path}: not a classic pcap file")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        if linktype == 1:
            ethertype, l3 = struct.unpack(">H", frame[12:14])[0], frame[14:]
        elif linktype == 113:
            ethertype, l3 = struct.unpack(">H", frame[14:16])[0], frame[16:]
        else:
            raise SystemExit(f"{path}: link type {linktype} not handled")
        if ethertype != 0x0800 or l3[9] != 6:
            continue
        ihl = (l3[0] & 15) * 4
        total = struct.unpack(">H", l3[2:4])[0]
        tcp = l3[ihl:total]
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        flags = tcp[13]
        doff = (tcp[12] >> 4) * 4
        yield sec, sport, dport, seq, flags, tcp[doff:]


def streams(path):
    client = None
    nxt = {}
    segs = []
    for _, sport, dport, seq, flags, payload in packets(path):
        if flags & 0x02 and not flags & 0x10:  # SYN without ACK: the client
            client = (sport, dport)
        if flags & 0x02:
            nxt[(sport, dport)] = (seq + 1) & 0xFFFFFFFF
            continue
        if client is None:
            raise SystemExit(f"{path}: no SYN seen")
        key = (sport, dport)
        if not payload or key not in nxt:
            continue
        skip = (nxt[key] - seq) & 0xFFFFFFFF
        if skip >= len(payload):
            continue  # a retransmission of what we have
        if skip > 0x7FFFFFFF:
            raise SystemExit(f"{path}: hole in the capture")
        payload = payload[skip:]
        nxt[key] = (nxt[key] + len(payload)) & 0xFFFFFFFF
        segs.append((0 if key == client else 1, payload))
    return segs


def c_str(v):
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def openssl_time(v):
    """notBefore=Jan  1 00:00:00 2020 GMT -> Unix seconds."""
    return calendar.timegm(time.strptime(" ".join(v.split()), "%b %d %H:%M:%S %Y GMT"))


def rdn(dn, key):
    """The value of key= in an RFC 2253 one-line name (no escaped commas in ours)."""
    for part in dn.split(","):
        k, _, v = part.partition("=")
        if k == key:
            return v
    return ""


KEYS = {"rsaEncryption": "RSA", "id-ecPublicKey": "EC", "ED25519": "Ed25519"}


def cert_expect(out, name):
    """NAME.cert.txt (openssl x509 -subject -issuer -dates -ext subjectAltName, key lines)."""
    try:
        lines = open(f"{out}/{name}.cert.txt").read().splitlines()
    except FileNotFoundError:
        return []
    f = {"sans": ""}
    for i, line in enumerate(lines):
        line = line.strip()
        for k in ("subject", "issuer", "notBefore", "notAfter"):
            if line.startswith(k + "="):
                f[k] = line[len(k) + 1:]
        if line.startswith("X509v3 Subject Alternative Name"):
            f["sans"] = ",".join(n.strip()[4:] for n in lines[i + 1].split(","))
        if line.startswith("Public Key Algorithm:"):
            f["key"] = KEYS[line.split(":", 1)[1].strip()]
        m = re.match(r"Public-Key: \((\d+) bit\)", line)
        if m:
            f["bits"] = int(m.group(1))
    log = open(f"{out}/{name}.client.log").read()
    chain = log.split("Certificate chain", 1)[1].split("---", 1)[0]
    n = len(re.findall(r"^ *\d+ s:", chain, re.M))
    return [
        f"/* {name}.cert.txt: " + "; ".join(l.strip() for l in lines).replace("*/", "* /") + " */",
        f"static const struct tls_sample_cert {name}_cert = {{",
        f"\t.subject_cn = {c_str(rdn(f['subject'], 'CN'))},",
        f"\t.issuer_cn = {c_str(rdn(f['issuer'], 'CN'))},",
        f"\t.issuer_o = {c_str(rdn(f['issuer'], 'O'))},",
        f"\t.not_before = {openssl_time(f['notBefore'])},",
        f"\t.not_after = {openssl_time(f['notAfter'])},",
        f"\t.sans = {c_str(f['sans'])},",
        f"\t.self_signed = {'true' if f['subject'] == f['issuer'] else 'false'},",
        f"\t.key_type = {c_str(f['key'])},",
        f"\t.key_bits = {f['bits']},",
        f"\t.chain = {n}, /* the client.log's Certificate chain */",
        "};",
    ]


def main():
    out = sys.argv[1]
    lines = [
        "/*",
        " * tls_samples.h - generated by samples/extract-tls-samples.py from the captures that",
        " * samples/make-tls-samples.sh made (real openssl s_server/s_client on loopback).",
        " * Do not edit; regenerate. Segments are in capture order; dir 0 = client, 1 = server.",
        " */",
        "#ifndef SMTPSCOPE_TLS_SAMPLES_H",
        "#define SMTPSCOPE_TLS_SAMPLES_H",
        "",
        "#include <stdbool.h>",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "struct tls_sample_seg {",
        "\tint dir;",
        "\tsize_t off, len;",
        "};",
        "",
        "/* What openssl printed for the certificate the server sent (NAME.cert.txt). */",
        "struct tls_sample_cert {",
        "\tconst char *subject_cn, *issuer_cn, *issuer_o, *sans, *key_type;",
        "\tint64_t not_before, not_after;",
        "\tbool self_signed;",
        "\tunsigned key_bits, chain;",
        "};",
        "",
    ]
    for name in sys.argv[2:]:
        segs = streams(f"{out}/{name}.pcap")
        blob = b"".join(p for _, p in segs)
        lines.append(f"/* {name}.pcap: {len(segs)} segments, {len(blob)} bytes */")
        lines.append(f"static const uint8_t {name}_bytes[] = {{")
        for i in range(0, len(blob), 16):
            lines.append("\t" + " ".join(f"0x{b:02x}," for b in blob[i:i + 16]))
        lines.append("};")
        lines.append(f"static const struct tls_sample_seg {name}_segs[] = {{")
        off = 0
        for d, p in segs:
            lines.append(f"\t{{{d}, {off}, {len(p)}}},")
            off += len(p)
        lines.append("};")
        first = next(packets(f"{out}/{name}.pcap"))[0]
        lines.append(f"static const int64_t {name}_ts = {first}; /* the first packet's time */")
        lines.extend(cert_expect(out, name))
        lines.append("")
    lines.append("#endif")
    with open(f"{out}/tls_samples.h", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

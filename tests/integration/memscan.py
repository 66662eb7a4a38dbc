#!/usr/bin/env python3
"""memscan.py PID KEYFILE... - does process PID hold any of these private keys?

Reads each key's private scalar with `openssl pkey -text`, then searches
every readable mapping of /proc/PID/mem for it, big-endian (as in DER and
PEM) and little-endian (as GMP limbs hold it). Prints one line per key,
"found KEYFILE" or "absent KEYFILE", and exits 0; exits 2 if memory could
not be read at all (so a caller can tell "absent" from "did not look").
"""
import re
import subprocess
import sys


def scalar(path):
    text = subprocess.run(["openssl", "pkey", "-in", path, "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    m = re.search(r"priv(?:ate-key)?:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    if not m:
        raise SystemExit(f"memscan: no private scalar in {path}")
    raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
    return raw.lstrip(b"\0")


CHUNK = 1 << 20
HUGE = 1 << 32  # sanitizer shadow and reserve mappings: terabytes, never key memory


def regions(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if "r" not in fields[1] or hi - lo > HUGE:
                continue
            if len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]"):
                continue
            yield lo, hi


def chunks(mem, lo, hi, overlap):
    """Reads [lo, hi) a megabyte at a time; consecutive chunks overlap so a
    pattern that straddles a boundary is still seen whole."""
    pos = lo
    while pos < hi:
        end = min(hi, pos + CHUNK)
        try:
            mem.seek(pos)
            data = mem.read(end - pos + (overlap if end < hi else 0))
        except (OSError, ValueError):
            return
        yield data
        pos = end


def main():
    pid = sys.argv[1]
    keys = {p: scalar(p) for p in sys.argv[2:]}
    patterns = {p: (k, k[::-1]) for p, k in keys.items()}
    found = set()
    read_any = False
    with open(f"/proc/{pid}/mem", "rb", 0) as mem:
        overlap = max(len(k) for k in keys.values())
        for lo, hi in regions(pid):
            for data in chunks(mem, lo, hi, overlap):
                read_any = True
                for p, pats in patterns.items():
                    if any(x in data for x in pats):
                        found.add(p)
    if not read_any:
        print("memscan: could not read any memory", file=sys.stderr)
        return 2
    for p in keys:
        print(("found " if p in found else "absent ") + p)
    return 0


if __name__ == "__main__":
    sys.exit(main())

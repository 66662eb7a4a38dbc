#!/usr/bin/python3
"""unitfilter.py - a systemd unit's system-call restrictions, then exec.

t_unit.sh runs `lanca serve` through this, last before lanca, to put in
place what systemd does with seccomp for the unit (systemd is not PID 1
where the tests run). It loads filters with libseccomp (libseccomp.so.2,
through ctypes) the way systemd builds them; the groups (@system-service
...) are those of this host's systemd, from `systemd-analyze
syscall-filter`. Each option takes the unit's value as it is:

  --filter VALUE        a SystemCallFilter= line (repeat, in order)
  --errno NAME          SystemCallErrorNumber= (default: the call kills)
  --archs VALUE         SystemCallArchitectures= (only native is known)
  --families VALUE      RestrictAddressFamilies=
  --namespaces VALUE    RestrictNamespaces= (yes or no)
  --mdwe VALUE          MemoryDenyWriteExecute= (yes or no)

usage: unitfilter.py [options] -- PROGRAM ARGS...
"""

import ctypes
import errno
import os
import socket
import subprocess
import sys

ACT_ALLOW = 0x7FFF0000
ACT_KILL_PROCESS = 0x80000000
CMP_GE = 5
CMP_EQ = 4
CMP_MASKED_EQ = 7
PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000
AF_MAX = 46
CLONE_NEW = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000,
             0x20000000, 0x40000000, 0x00000080)  # ns mnt cgroup uts ipc user pid net time


class Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_uint),
                ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]


lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_init.argtypes = [ctypes.c_uint32]
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                       ctypes.c_uint, ctypes.POINTER(Cmp)]
lib.seccomp_load.argtypes = [ctypes.c_void_p]


def act_errno(e):
    return 0x00050000 | (e & 0xFFFF)


def die(msg):
    sys.stderr.write("unitfilter: %s\n" % msg)
    sys.exit(99)


def nr(name):
    return lib.seccomp_syscall_resolve_name(name.encode())


def rule(ctx, action, call, *cmps):
    n = nr(call)
    if n < 0:
        return  # not a system call on this architecture
    arr = (Cmp * max(len(cmps), 1))(*cmps)
    rc = lib.seccomp_rule_add_array(ctx, action, n, len(cmps), arr)
    if rc < 0:
        die("cannot add a rule for %s: %s" % (call, os.strerror(-rc)))


def load(ctx):
    rc = lib.seccomp_load(ctx)
    if rc < 0:
        die("cannot load a filter: %s" % os.strerror(-rc))


GROUPS = {}


def read_groups():
    """This host's systemd's groups: one `systemd-analyze syscall-filter`
    lists them all (a group's name at the start of a line, its calls and
    groups indented below)."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"],
                         capture_output=True, text=True, check=True).stdout
    group = None
    for line in out.splitlines():
        w = line.strip()
        if line.startswith("@"):
            group = w
            GROUPS[group] = set()
        elif group and w and not w.startswith("#"):
            GROUPS[group].add(w)


def expand(item):
    """A system call or @group, as the set of call names systemd means."""
    if not item.startswith("@"):
        return {item}
    if not GROUPS:
        read_groups()
    if item not in GROUPS:
        die("no system-call group %s in this systemd" % item)
    names = set()
    for w in GROUPS[item]:
        names |= expand(w)
    return names


def syscall_filter(lines, err):
    """SystemCallFilter= lines, added up as systemd does: the first line
    says allow or deny list; a later line of the other kind takes its
    calls out."""
    allow, names = None, set()
    for line in lines:
        deny = line.startswith("~")
        words = set()
        for w in line.lstrip("~").split():
            words |= expand(w.split(":")[0])
        if allow is None:
            allow = not deny
            if allow:
                words |= expand("@default")
        if deny == (not allow):
            names |= words
        else:
            names -= words
    if allow is None:
        return
    bad = act_errno(err) if err else ACT_KILL_PROCESS
    ctx = lib.seccomp_init(bad if allow else ACT_ALLOW)
    for name in sorted(names):
        rule(ctx, ACT_ALLOW if allow else bad, name)
    load(ctx)


def families(value):
    deny = value.startswith("~")
    fams = set()
    for w in value.lstrip("~").split():
        fams.add(int(getattr(socket, w)))
    ctx = lib.seccomp_init(ACT_ALLOW)
    for af in range(AF_MAX):
        if (af in fams) == deny:
            rule(ctx, act_errno(errno.EAFNOSUPPORT), "socket", Cmp(0, CMP_EQ, af, 0))
    if not deny:
        rule(ctx, act_errno(errno.EAFNOSUPPORT), "socket", Cmp(0, CMP_GE, AF_MAX, 0))
    load(ctx)


def namespaces():
    ctx = lib.seccomp_init(ACT_ALLOW)
    rule(ctx, act_errno(errno.EPERM), "setns")
    # As systemd: glibc falls back to clone(), whose flags can be seen.
    rule(ctx, act_errno(errno.ENOSYS), "clone3")
    for f in CLONE_NEW:
        rule(ctx, act_errno(errno.EPERM), "unshare", Cmp(0, CMP_MASKED_EQ, f, f))
        rule(ctx, act_errno(errno.EPERM), "clone", Cmp(0, CMP_MASKED_EQ, f, f))
    load(ctx)


def mdwe():
    ctx = lib.seccomp_init(ACT_ALLOW)
    wx = PROT_WRITE | PROT_EXEC
    rule(ctx, act_errno(errno.EPERM), "mmap", Cmp(2, CMP_MASKED_EQ, wx, wx))
    rule(ctx, act_errno(errno.EPERM), "mprotect", Cmp(2, CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC))
    rule(ctx, act_errno(errno.EPERM), "pkey_mprotect", Cmp(2, CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC))
    rule(ctx, act_errno(errno.EPERM), "shmat", Cmp(2, CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC))
    load(ctx)


def yes(v):
    return v in ("yes", "true", "1", "on")


def main(argv):
    if "--" not in argv:
        die(__doc__.strip().splitlines()[-1])
    cut = argv.index("--")
    opts, prog = argv[:cut], argv[cut + 1:]
    filters, err, archs, fams, ns, wx = [], None, "", "", "", ""
    for i in range(0, len(opts), 2):
        k, v = opts[i], opts[i + 1]
        if k == "--filter":
            filters.append(v)
        elif k == "--errno":
            err = getattr(errno, v) if v else None
        elif k == "--archs":
            archs = v
        elif k == "--families":
            fams = v
        elif k == "--namespaces":
            ns = v
        elif k == "--mdwe":
            wx = v
        else:
            die("unknown option %s" % k)
    if archs not in ("", "native"):
        die("SystemCallArchitectures=%s is not emulated" % archs)
    # Each filter is a seccomp program of its own, as systemd loads them:
    # the strictest answer of all wins. Only native calls pass any of them
    # (libseccomp's default), which is SystemCallArchitectures=native.
    if yes(wx):
        mdwe()
    if yes(ns):
        namespaces()
    if fams:
        families(fams)
    syscall_filter(filters, err)  # last: it may deny what loading needs
    os.execv(prog[0], prog)


if __name__ == "__main__":
    main(sys.argv[1:])

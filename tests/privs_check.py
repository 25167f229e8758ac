#!/usr/bin/env python3
"""privs_check.py - what smtpscope gives up as root, and the files it will not be tricked into writing.

Issue 13, items 4-6, each against the real binary on a bundled sample, as root (the case that
matters; skipped cleanly otherwise):
- -w through a planted symbolic link, over another user's file, over a file with a second name
  (hard link), or into a directory others may write to: refused, nothing written; a new -w file
  is mode 0600, an old one of ours is truncated and becomes 0600;
- --extract into a symbolic link to a directory, or into a directory others may write to with
  -Z root: refused; the .eml files are mode 0600 and belong to the user smtpscope dropped to, so
  root is dropped for -r as for -i;
- while it runs (reading a FIFO it is blocked on), /proc/PID/status shows no capability left
  (effective, permitted, inheritable, ambient), no_new_privs set, and the uid dropped to; with
  -Z root the uid stays 0 but the capabilities still go; with file capabilities on a copy of the
  binary run by an unprivileged user, they are gone too.

    python3 tests/privs_check.py --bin build/smtpscope
"""
import argparse
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "samples", "multi-message.pcap")
PCAP_HEADER = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")


def drop_user():
    for name in ("smtpscope", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    return None


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)
    return p.returncode, p.stdout, p.stderr


def refused(binary, args, says, victim=None, before=None, absent=None):
    """Exit 1, one line saying why; the victim unchanged and the refused file never made."""
    rc, out, err = run([binary] + args)
    ok = rc == 1 and says in err and len(err.strip().splitlines()) == 1
    if victim is not None:
        with open(victim, "rb") as f:
            ok = ok and f.read() == before
    if absent is not None:
        ok = ok and not os.path.exists(absent)
    return ok, "exit %d: %s" % (rc, err.strip()[:160])


def status_of(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return fields


def running_privileges(cmd, env=None, preexec=None):
    """Start smtpscope on a FIFO, feed it a pcap header, read its /proc status while it waits."""
    work = tempfile.mkdtemp()
    os.chmod(work, 0o755)
    fifo = os.path.join(work, "in.pcap")
    os.mkfifo(fifo, 0o644)
    proc = subprocess.Popen(cmd + ["-r", fifo, "-o", "json"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, preexec_fn=preexec)
    try:
        with open(fifo, "wb") as w:
            w.write(PCAP_HEADER)
            w.flush()
            status = None
            for _ in range(100):  # up to 5 s for the drop
                time.sleep(0.05)
                st = status_of(proc.pid)
                if no_capabilities(st)[0] or proc.poll() is not None:  # the last step is done
                    status = st
                    break
            status = status or status_of(proc.pid)
        proc.wait(timeout=30)
        return status, proc.returncode, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def no_capabilities(st):
    caps = [st.get(k, ["?"])[0] for k in ("CapEff", "CapPrm", "CapInh", "CapAmb")]
    return all(c == "0000000000000000" for c in caps) and st.get("NoNewPrivs") == ["1"], caps


def check_drop_default(binary):
    pw = drop_user()
    st, rc, err = running_privileges([binary])
    none, caps = no_capabilities(st)
    uid = int(st["Uid"][1])
    return rc == 0 and none and uid == pw.pw_uid, "uid %d (want %d), caps %s, exit %d %s" % (
        uid, pw.pw_uid, caps, rc, err.strip()[:80])


def check_keep_root_no_caps(binary):
    st, rc, err = running_privileges([binary, "-Z", "root"])
    none, caps = no_capabilities(st)
    uid = int(st["Uid"][1])
    return rc == 0 and none and uid == 0, "uid %d, caps %s, exit %d %s" % (uid, caps, rc, err[:80])


def check_file_caps(binary, work):
    """A copy with cap_net_raw,cap_net_admin=eip run by an unprivileged user keeps neither."""
    if not shutil.which("setcap"):
        return None, "setcap not installed"
    pw = drop_user()
    copy = os.path.join(work, "smtpscope-caps")
    shutil.copy(binary, copy)
    os.chmod(copy, 0o755)
    rc, _, err = run(["setcap", "cap_net_raw,cap_net_admin=eip", copy])
    if rc != 0:
        return None, "setcap refused here: " + err.strip()[:80]

    def become():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    st, rc, err = running_privileges([copy], preexec=become)
    none, caps = no_capabilities(st)
    return rc == 0 and none, "caps %s, exit %d %s" % (caps, rc, err.strip()[:80])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("privs: skipped (not root: nothing to drop, nobody to trick)")
        return 0
    binary = os.path.abspath(a.bin)
    if drop_user() is None:
        print("privs: FAIL: neither the user smtpscope nor nobody exists to drop to")
        return 1
    version = run([binary, "--version"])[1]
    if "coverage build" in version:
        print("privs: skipped (a coverage build keeps root so that its counters can be written)")
        return 0
    pw = drop_user()
    work = tempfile.mkdtemp()
    os.chmod(work, 0o755)
    results = []
    try:
        victim = os.path.join(work, "victim")
        with open(victim, "wb") as f:
            f.write(b"precious")
        link = os.path.join(work, "link.pcap")
        os.symlink(victim, link)
        results.append(("-w through a symbolic link",) +
                       refused(binary, ["-r", SAMPLE, "-w", link, "-o", "json"], "symbolic link",
                               victim, b"precious"))
        theirs = os.path.join(work, "theirs.pcap")
        with open(theirs, "wb") as f:
            f.write(b"theirs")
        os.chown(theirs, pw.pw_uid, pw.pw_gid)
        results.append(("-w over another user's file",) +
                       refused(binary, ["-r", SAMPLE, "-w", theirs, "-o", "json"], "another user",
                               theirs, b"theirs"))
        hard = os.path.join(work, "hard.pcap")
        os.link(victim, hard)
        results.append(("-w over a file with two names",) +
                       refused(binary, ["-r", SAMPLE, "-w", hard, "-o", "json"], "other names",
                               victim, b"precious"))
        os.unlink(hard)
        shared = os.path.join(work, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o1777)
        results.append(("-w into a directory others may write to",) +
                       refused(binary, ["-r", SAMPLE, "-w", os.path.join(shared, "x.pcap"),
                                        "-o", "json"], "others may write",
                               absent=os.path.join(shared, "x.pcap")))
        new = os.path.join(work, "new.pcap")
        rc, _, err = run([binary, "-r", SAMPLE, "-w", new, "-o", "json"])
        mode = stat.S_IMODE(os.stat(new).st_mode) if os.path.exists(new) else 0
        results.append(("-w creates mode 0600", rc == 0 and mode == 0o600,
                        "exit %d, mode %s %s" % (rc, oct(mode) if mode else None, err[:80])))
        old = os.path.join(work, "old.pcap")
        with open(old, "wb") as f:
            f.write(b"x" * 100000)
        os.chmod(old, 0o644)
        rc, _, _ = run([binary, "-r", SAMPLE, "-w", old, "-o", "json"])
        st = os.stat(old)
        new_size = os.stat(new).st_size if os.path.exists(new) else -1
        results.append(("-w replaces our own file, 0600", rc == 0 and
                        stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == new_size,
                        "exit %d, mode %s, %d bytes" % (rc, oct(stat.S_IMODE(st.st_mode)),
                                                       st.st_size)))
        real = os.path.join(work, "real")
        os.mkdir(real)
        dirlink = os.path.join(work, "dirlink")
        os.symlink(real, dirlink)
        results.append(("--extract into a symbolic link",) +
                       refused(binary, ["-r", SAMPLE, "--extract", dirlink, "-o", "json"],
                               "symbolic link"))
        results.append(("--extract -Z root into a directory others may write to",) +
                       refused(binary, ["-r", SAMPLE, "--extract", shared, "-Z", "root",
                                        "-o", "json"], "others may write"))
        rootonly = os.path.join(work, "rootonly")
        os.mkdir(rootonly, 0o700)
        results.append(("--extract as root drops root first (a root-only directory)",) +
                       refused(binary, ["-r", SAMPLE, "--extract", rootonly, "-o", "json"],
                               "Permission denied"))
        theirs_dir = os.path.join(work, "out")
        os.mkdir(theirs_dir, 0o755)
        os.chown(theirs_dir, pw.pw_uid, pw.pw_gid)
        rc, _, err = run([binary, "-r", SAMPLE, "--extract", theirs_dir, "-o", "json"])
        emls = [os.path.join(theirs_dir, n) for n in os.listdir(theirs_dir)]
        ok = rc == 0 and len(emls) > 1 and all(
            stat.S_IMODE(os.stat(p).st_mode) == 0o600 and os.stat(p).st_uid == pw.pw_uid
            for p in emls)
        results.append(("--extract files are 0600 and the dropped user's", ok,
                        "exit %d, %d files %s" % (rc, len(emls), err[:80])))
        results.append(("running: root dropped, no capability",) + check_drop_default(binary))
        results.append(("running -Z root: uid 0, no capability",) +
                       check_keep_root_no_caps(binary))
        ok, detail = check_file_caps(binary, work)
        if ok is not None:
            results.append(("file capabilities given up", ok, detail))
        else:
            print("privs: file capabilities not checked: %s" % detail)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    failed = 0
    for name, ok, detail in results:
        print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail))
        failed += not ok
    print("privs: %d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Run every hull test suite and print one summary.

Suites, in order:
  unit         tests/unit/*   (TAP executables from the ASan+UBSan build, build-asan/)
  integration  tests/integration (pytest as root, with a leak check after every test)
  fuzz         tests/fuzz     (each libFuzzer target for a bounded time, build-fuzz/)
  nested       tests/nested/run (TAP; boots the nested test host under QEMU TCG)

Every test is printed as PASS/FAIL/SKIP with its name; a skipped test says why.
The last line is "N passed, N failed" (skips are listed, never counted as passed).

Options: --suite NAME (repeatable), --fuzz-seconds N, -k EXPR (passed to pytest).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
results = []  # (status, name, detail)


def record(status, name, detail=""):
    results.append((status, name, detail))
    line = f"{status} {name}"
    if detail:
        line += f": {detail}"
    print(line, flush=True)


def parse_tap(prefix, text):
    seen = False
    for line in text.splitlines():
        m = re.match(r"^(not ok|ok)\s+\d+\s+(.*?)(?:\s+#\s*(SKIP|TODO)\s*(.*))?$", line)
        if not m:
            continue
        seen = True
        ok, name, directive, reason = m.groups()
        if directive == "SKIP":
            record("SKIP", f"{prefix}{name}", reason or "skipped")
        elif ok == "ok":
            record("PASS", f"{prefix}{name}")
        else:
            record("FAIL", f"{prefix}{name}")
    return seen


def run_unit():
    builddir = os.path.join(ROOT, "build-asan")
    out = subprocess.run(["meson", "introspect", "--tests", builddir],
                         capture_output=True, text=True, check=True).stdout
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    for t in json.loads(out):
        if "unit" not in t.get("suite", []) and not any(s.endswith(":unit") for s in t.get("suite", [])):
            continue
        p = subprocess.run(t["cmd"], capture_output=True, text=True, env=env,
                           cwd=t.get("workdir") or builddir, timeout=600)
        seen = parse_tap(f"unit/{t['name']}/", p.stdout)
        if p.returncode != 0:
            sys.stdout.write(p.stdout[-4000:] + p.stderr[-4000:])
            if not seen or "not ok" not in p.stdout:
                record("FAIL", f"unit/{t['name']}", f"exit status {p.returncode}")


def run_integration(kexpr):
    if os.geteuid() != 0:
        record("SKIP", "integration", "needs root")
        return
    junit = os.path.join(ROOT, "build", "integration-junit.xml")
    cmd = ["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
           f"--junitxml={junit}", os.path.join(ROOT, "tests", "integration")]
    if kexpr:
        cmd += ["-k", kexpr]
    env = dict(os.environ, HULL_LEAK_STRICT=os.environ.get("HULL_LEAK_STRICT", "1"))
    p = subprocess.run(cmd, env=env, cwd=ROOT)
    if not os.path.exists(junit):
        record("FAIL", "integration", f"pytest exited {p.returncode} without a report")
        return
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = "integration/" + case.get("classname", "").replace("tests.integration.", "") + "::" + case.get("name")
        if case.find("failure") is not None or case.find("error") is not None:
            record("FAIL", name)
        elif case.find("skipped") is not None:
            record("SKIP", name, (case.find("skipped").get("message") or "skipped").splitlines()[0][:200])
        else:
            record("PASS", name)


def run_fuzz(seconds):
    d = os.path.join(ROOT, "build-fuzz", "tests", "fuzz")
    if not os.path.isdir(d):
        record("SKIP", "fuzz", "build-fuzz/ has no fuzz targets")
        return
    for exe in sorted(os.listdir(d)):
        path = os.path.join(d, exe)
        if not exe.startswith("fuzz-") or not os.access(path, os.X_OK) or not os.path.isfile(path):
            continue
        seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", exe[len("fuzz-"):])
        work = os.path.join(ROOT, "build-fuzz", "corpus-work", exe)
        os.makedirs(work, exist_ok=True)
        args = [path, f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
                f"-artifact_prefix={os.path.join(ROOT, 'build-fuzz', exe)}-", work]
        if os.path.isdir(seeds):
            args.append(seeds)
        p = subprocess.run(args, capture_output=True, text=True)
        tail = p.stderr.strip().splitlines()[-1:] if p.stderr else []
        if p.returncode == 0:
            record("PASS", f"fuzz/{exe}", tail[0] if tail else "")
        else:
            sys.stdout.write(p.stderr[-6000:])
            record("FAIL", f"fuzz/{exe}", f"exit status {p.returncode}")


def run_tap_suite(name, script):
    path = os.path.join(ROOT, script)
    if not os.path.exists(path):
        return
    p = subprocess.run([path], capture_output=True, text=True, cwd=ROOT)
    seen = parse_tap(f"{name}/", p.stdout)
    if p.returncode != 0 and not seen:
        sys.stdout.write(p.stdout[-4000:] + p.stderr[-4000:])
        record("FAIL", name, f"exit status {p.returncode}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", action="append", choices=["unit", "integration", "fuzz", "nested"])
    ap.add_argument("--fuzz-seconds", type=int, default=int(os.environ.get("HULL_FUZZ_SECONDS", "20")))
    ap.add_argument("-k", dest="kexpr")
    a = ap.parse_args()
    suites = a.suite or ["unit", "integration", "fuzz", "nested"]
    start = time.monotonic()
    for s in suites:
        print(f"== {s}", flush=True)
        t0 = time.monotonic()
        if s == "unit":
            run_unit()
        elif s == "integration":
            run_integration(a.kexpr)
        elif s == "fuzz":
            run_fuzz(a.fuzz_seconds)
        elif s == "nested":
            run_tap_suite("nested", "tests/nested/run")
        print(f"== {s} took {time.monotonic() - t0:.0f} s", flush=True)
    passed = sum(1 for r in results if r[0] == "PASS")
    failed = sum(1 for r in results if r[0] == "FAIL")
    skipped = [r for r in results if r[0] == "SKIP"]
    if skipped:
        print(f"skipped ({len(skipped)}):")
        for _, n, d in skipped:
            print(f"  {n}: {d}")
    failures = [r for r in results if r[0] == "FAIL"]
    if failures:
        print("failed:")
        for _, n, d in failures:
            print(f"  {n}" + (f": {d}" if d else ""))
    print(f"total time {time.monotonic() - start:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

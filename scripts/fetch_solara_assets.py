#!/usr/bin/env python
"""Fill Solara's CDN proxy cache from the npm registry, for offline `solara run`.

`solara run` serves front-end assets through `/_solara/cdn/<pkg>@<ver>/<path>`, which it
normally downloads from cdn.jsdelivr.net into `<prefix>/share/solara/cdn/` on first use.
Without that CDN the page stays on "Loading". This script fetches the same packages as npm
tarballs (whose layout is what jsdelivr serves) and unpacks them into that cache.

Which packages: the page template (solara-vuetify-app for the installed ipyvue major,
requirejs, font-awesome), what SolaraViz/charts load on demand (vue-grid-layout for
GridDraggable, echarts, vega/vega-lite/vega-embed for Altair) and Markdown extras (mermaid,
katex). Versions are read from the installed solara sources (`name@version/...` strings);
FALLBACK versions are used only when a string is not found. Range versions (`vega@5`) are
resolved like jsdelivr does: the highest non-prerelease release with that prefix.

Stdlib only: run it with the Python of the environment to fill (it must have solara).
Usage: python scripts/fetch_solara_assets.py [--check] [--no-extras] [--cache-dir DIR] [-v]
Exit codes: 0 ok; 1 cache incomplete (--check); 2 registry/npm error or solara missing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import re
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

# npm name -> (group, fallback version). Fallbacks = solara 1.64.1 (shared/notes §2.7).
PACKAGES: dict[str, tuple[str, str]] = {
    "@widgetti/solara-vuetify-app": ("core", "10.1.1"),  # page template, ipyvue 1.x (Vue 2)
    "@widgetti/solara-vuetify3-app": ("core", "5.2.0"),  # page template, ipyvue 3.x (Vue 3)
    "requirejs": ("core", "2.3.6"),
    "font-awesome": ("core", "4.5.0"),
    "@widgetti/vue-grid-layout": ("viz", "2.3.13-alpha.2"),  # GridDraggable = SolaraViz grid
    "echarts": ("viz", "5.4.0"),  # solara.FigureEcharts
    "vega": ("viz", "5"),  # solara.FigureAltair (ranges, as solara requests them)
    "vega-lite": ("viz", "5"),
    "vega-embed": ("viz", "6"),
    "mermaid": ("extra", "10.8.0"),  # solara.Markdown diagrams
    "katex": ("extra", "0.16.9"),  # solara.Markdown math
}
MARKER = ".fetched-from-npm.json"  # written last; its presence means "complete"
EXACT = re.compile(r"^\d+\.\d+\.\d+(?:[-+][\w.]+)?$")
SOURCE_SUFFIXES = (".py", ".vue", ".j2", ".js")


def log(msg: str) -> None:
    print(f"[fetch_solara_assets] {msg}", file=sys.stderr)


def default_cache_dir() -> Path:
    """Mirror solara.server.settings.Assets.proxy_cache_dir (env override included)."""
    env = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR")
    if env:
        return Path(env)
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def scan_solara(solara_dir: Path) -> dict[str, dict[str, set[str]]]:
    """Return {pkg: {version: {file paths}}} for every `pkg@version/path` in solara's sources."""
    names = "|".join(re.escape(n) for n in sorted(PACKAGES, key=len, reverse=True))
    pat = re.compile(rf"(?<![\w.@-])({names})@([0-9][\w.+-]*|\$\{{(\w+)\}})(/[^\"'`\s)>]*)?")
    try:
        widgets_major = importlib.metadata.version("ipywidgets").split(".")[0]
    except importlib.metadata.PackageNotFoundError:
        widgets_major = "8"
    found: dict[str, dict[str, set[str]]] = {}
    for f in solara_dir.rglob("*"):
        if f.suffix not in SOURCE_SUFFIXES or "website" in f.parts or f.name == "plain.html":
            continue
        text = f.read_text(errors="replace")
        for m in pat.finditer(text):
            name, version, var, path = m.group(1), m.group(2), m.group(3), m.group(4) or ""
            if var:  # e.g. echarts.vue: const version = "5.4.0"; ...echarts@${version}/...
                vm = re.search(rf"\b{var}\s*=\s*[\"']([^\"']+)[\"']", text)
                if not vm:
                    continue
                version = vm.group(1)
            version = version.rstrip(".")
            path = path.replace("{{ipywidget_major_version}}", widgets_major)
            files = found.setdefault(name, {}).setdefault(version, set())
            path = path.strip("/")
            if re.fullmatch(r"[\w@-][\w@.-]*(/[\w@.-]+)*\.\w+", path):  # skips "..." etc.
                files.add(path)
    return found


def registry_url() -> str:
    url = os.environ.get("NPM_CONFIG_REGISTRY") or os.environ.get("npm_config_registry")
    return (url or "https://registry.npmjs.org/").rstrip("/") + "/"


def http_get(url: str, accept: str = "application/json", timeout: float = 60) -> bytes:
    last: Exception | None = None
    for attempt in range(3):
        try:
            req = urllib.request.Request(url, headers={"Accept": accept})
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            if 400 <= e.code < 500 and e.code != 429:
                raise SystemExit(f"registry answered {e.code} for {url}") from e
            last = e
        except (urllib.error.URLError, OSError) as e:
            last = e
        time.sleep(2**attempt)
    raise SystemExit(
        f"cannot reach the npm registry ({url}): {last}\n"
        "Set NPM_CONFIG_REGISTRY to a reachable mirror, or fill the cache on a machine with "
        "registry access and copy <prefix>/share/solara/cdn/ over."
    )


def pkg_url(name: str) -> str:
    return registry_url() + urllib.parse.quote(name, safe="@")


def _semver_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("+")[0].split("."))


def resolve(name: str, spec: str) -> tuple[str, dict]:
    """Return (exact version, dist dict with tarball/integrity) for an exact or prefix spec."""
    if EXACT.match(spec):
        meta = json.loads(http_get(f"{pkg_url(name)}/{spec}"))
        return meta["version"], meta["dist"]
    if not re.fullmatch(r"\d+(\.\d+)?", spec):
        raise SystemExit(f"unsupported version spec {name}@{spec}")
    doc = json.loads(http_get(pkg_url(name), "application/vnd.npm.install-v1+json"))
    ok = [
        v
        for v in doc["versions"]
        if re.fullmatch(r"\d+\.\d+\.\d+", v) and (v == spec or v.startswith(spec + "."))
    ]
    if not ok:
        raise SystemExit(f"no release of {name} matches {spec}")
    best = max(ok, key=_semver_key)
    return best, doc["versions"][best]["dist"]


def check_integrity(data: bytes, dist: dict, what: str) -> None:
    integ = dist.get("integrity", "")
    if integ.startswith("sha512-"):
        digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != integ[len("sha512-") :]:
            raise SystemExit(f"integrity mismatch for {what}")
    elif dist.get("shasum") and hashlib.sha1(data).hexdigest() != dist["shasum"]:
        raise SystemExit(f"shasum mismatch for {what}")


def extract(data: bytes, dest: Path) -> int:
    """Unpack an npm tarball into dest, dropping its top folder (usually `package/`)."""
    n = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            parts = Path(member.name).parts[1:]
            if not parts or ".." in parts:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            assert src is not None
            target.write_bytes(src.read())
            n += 1
    return n


def add_min_aliases(folder: Path, files: set[str]) -> list[str]:
    """jsdelivr minifies on the fly (`require.min.js`); npm has only `require.js`: copy it."""
    made = []
    for rel in files:
        target = folder / rel
        if target.exists():
            continue
        for ext in (".js", ".css"):
            if rel.endswith(".min" + ext):
                plain = folder / (rel[: -len(".min" + ext)] + ext)
                if plain.exists():
                    shutil.copyfile(plain, target)
                    made.append(rel)
    return made


def plan(groups: set[str]) -> list[tuple[str, str, set[str]]]:
    spec = importlib.util.find_spec("solara")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"solara is not installed in {sys.prefix}; run with the venv's python")
    solara_dir = Path(next(iter(spec.submodule_search_locations)))
    found = scan_solara(solara_dir)
    try:
        vue3 = importlib.metadata.version("ipyvue").startswith("3")
    except importlib.metadata.PackageNotFoundError:
        vue3 = False
    skip = "@widgetti/solara-vuetify-app" if vue3 else "@widgetti/solara-vuetify3-app"
    items = []
    for name, (group, fallback) in PACKAGES.items():
        if group not in groups or name == skip:
            continue
        versions = found.get(name) or {fallback: set()}
        if name not in found:
            log(f"{name}: not referenced by installed solara, using fallback {fallback}")
        for version, files in sorted(versions.items()):
            items.append((name, version, files))
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    ap.add_argument("--no-extras", action="store_true", help="skip mermaid and katex")
    ap.add_argument("--check", action="store_true", help="only verify, no network; exit 1 if not")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    groups = {"core", "viz"} if args.no_extras else {"core", "viz", "extra"}
    cache: Path = args.cache_dir
    t0 = time.monotonic()
    missing = 0
    for name, spec, files in plan(groups):
        # A range spec (vega@5) is cached under that literal name, as the browser asks for it.
        folder = cache / f"{name}@{spec}"
        marker = folder / MARKER
        absent = sorted(f for f in files if not (folder / f).is_file())
        if marker.is_file() and not absent:
            if args.verbose:
                log(f"ok   {name}@{spec} ({json.loads(marker.read_text())['version']})")
            continue
        if args.check:
            log(f"MISSING {name}@{spec} {absent[:3] if marker.is_file() else '(not fetched)'}")
            missing += 1
            continue
        version, dist = resolve(name, spec)
        t1 = time.monotonic()
        data = http_get(dist["tarball"], accept="application/octet-stream", timeout=300)
        check_integrity(data, dist, f"{name}@{version}")
        folder.mkdir(parents=True, exist_ok=True)
        n = extract(data, folder)
        aliases = add_min_aliases(folder, files)
        absent = sorted(f for f in files if not (folder / f).is_file())
        if absent:
            raise SystemExit(f"{name}@{version} tarball lacks files solara requests: {absent}")
        meta = {"version": version, "tarball": dist["tarball"], "aliases": sorted(aliases)}
        marker.write_text(json.dumps(meta, indent=1))
        log(
            f"got  {name}@{spec} -> {version}: {len(data) / 1e6:.1f} MB, {n} files, "
            f"{time.monotonic() - t1:.1f}s" + (f", min aliases {aliases}" if aliases else "")
        )
    if missing:
        log(f"{missing} package(s) missing in {cache}; run without --check to fetch them")
        return 1
    log(f"cache complete in {cache} ({time.monotonic() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit as e:
        if isinstance(e.code, str):
            log(f"ERROR: {e.code}")
            sys.exit(2)
        raise

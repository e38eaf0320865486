#!/usr/bin/env python3
"""`aifed-sim compare` on a sample trace with three policies, then the report opened in
headless Chromium: the DOM Chromium builds must hold every plot as SVG with non-empty
paths. Exit 77 (skipped) when no Chromium is installed.

  report_browser_test.py AIFED_SIM TRACE OUT_DIR
"""
import html.parser
import os
import shutil
import subprocess
import sys


class SvgPaths(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.svg = None
        self.paths = {}  # svg class -> non-empty path count

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svg = a.get("class", "?")
            self.paths.setdefault(self.svg, 0)
        elif tag == "path" and self.svg and a.get("d", "").strip().startswith("M"):
            if len(a["d"].split()) >= 2:
                self.paths[self.svg] += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg = None


def main():
    sim, trace, out = sys.argv[1:4]
    policies = subprocess.run([sim, "policies"], check=True, capture_output=True,
                              text=True).stdout.split()[:3]
    assert len(policies) >= 1, "the broker offers no policy"
    subprocess.run([sim, "compare", "--trace", trace, "--policies", ",".join(policies),
                    "--report-interval", "600", "--out", out], check=True, stdout=subprocess.DEVNULL)
    report = os.path.abspath(os.path.join(out, "report.html"))
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    if not browser:
        print("no Chromium installed: skipped")
        return 77
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                          "--dump-dom", "file://" + report],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    p = SvgPaths()
    p.feed(dom)
    print("SVG paths per plot:", p.paths)
    ok = (p.paths.get("wait-cdf", 0) == len(policies) and p.paths.get("share", 0) > 0
          and p.paths.get("utilisation", 0) > 0)
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

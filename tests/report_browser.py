"""Open a Snakemake HTML report in Debian's headless Chromium (selenium + chromedriver) and read back
what a person would see: whether the app rendered, and whether each embedded figure decodes into a
non-blank image."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

# For each embedded result: its MIME type, and for an image its decoded size and how many distinct
# colours a canvas copy has (1: a blank canvas).
INSPECT_RESULTS = """
const done = arguments[arguments.length - 1];
const entries = Object.entries(window.results || {});
Promise.all(entries.map(([name, res]) => new Promise(resolve => {
  if (!res.mime_type.startsWith("image/")) { resolve({name, mime: res.mime_type}); return; }
  const img = new Image();
  img.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set();
    for (let i = 0; i < px.length && colours.size < 3; i += 4 * 97) colours.add(px[i] + "," + px[i+1] + "," + px[i+2]);
    resolve({name, mime: res.mime_type, width: img.naturalWidth, height: img.naturalHeight, colours: colours.size});
  };
  img.onerror = () => resolve({name, mime: res.mime_type, width: 0, height: 0, colours: 0});
  img.src = res.data_uri;
}))).then(done);
"""


def chromium_driver():
    """A headless Chromium session; skipped where Chromium is not installed, except on CI."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing (.ci/run installs them with apt-get)")
        pytest.skip("chromium/chromedriver not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def open_report(report: Path, screenshot: Path) -> tuple[list[dict], dict[str, str]]:
    """(one record per embedded result, {name: text of each embedded HTML result}) of the report as
    Chromium renders it; a screenshot of its first page is saved to `screenshot`."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser = chromium_driver()
    try:
        browser.set_script_timeout(60)
        browser.get(report.resolve().as_uri())
        # The app replaces its loading screen once React has rendered.
        WebDriverWait(browser, 60).until(
            lambda b: b.execute_script("return document.querySelector('#app').children.length > 0")
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(screenshot))
        records = browser.execute_async_script(INSPECT_RESULTS)
        pages = {
            name: base64.b64decode(uri.split(",", 1)[1]).decode("utf-8")
            for name, uri in browser.execute_script(
                "return Object.fromEntries(Object.entries(window.results)"
                ".filter(([n, r]) => r.mime_type === 'text/html').map(([n, r]) => [n, r.data_uri]))"
            ).items()
        }
        assert browser.execute_script("return Object.keys(window.rulegraph_spec || {}).length > 0"), "no rulegraph"
    finally:
        browser.quit()
    return records, pages

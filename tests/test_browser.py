"""The app in a real browser: Debian's headless Chromium, driven by Selenium + chromedriver.

Opens the page, runs one action per tab, checks that the result images appeared (loaded,
non-empty <img> elements in the output components) and that a bad action shows its error
message in the page. Screenshots go to $GANSTYLE_SCREENSHOTS (default: pytest's tmp dir).

Needs `apt-get install chromium chromium-driver` (.ci/run installs them) and `pip install
selenium`; skipped with the reason when either is missing.
"""

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry from the test server
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from app_server import serve  # noqa: E402
from tiny_model import build_tiny_export  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"),
]
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # app.py lives at the root (plain `pytest` does not add it)
    sys.path.insert(0, str(ROOT))
PHOTO = ROOT / "examples" / "scene-lake.jpg"
TIMEOUT = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import app

    demo = app.build_app(build_tiny_export(tmp_path_factory.mktemp("model") / "tiny"))
    with serve(demo, **app.LAUNCH_OPTIONS) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1366,1100",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(TIMEOUT)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("GANSTYLE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for(predicate, what: str, timeout: float = TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def loaded_images(driver, elem_id: str) -> int:
    """How many <img> under #elem_id have loaded with a real size."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' img'))"
        ".filter(i => i.complete && i.naturalWidth > 0).length;", f"#{elem_id}")


def slider_sources(driver) -> list:
    return [img.get_attribute("src") for img in driver.find_elements(By.CSS_SELECTOR, "#transfer-slider img")]


def click_text(driver, tag: str, text: str):
    """Click the visible <tag> whose text is `text` (buttons, tabs)."""
    def find():
        for element in driver.find_elements(By.TAG_NAME, tag):
            if element.is_displayed() and element.text.strip() == text:
                return element
        return None
    element = wait_for(find, f"a visible <{tag}> {text!r}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def open_tab(driver, name: str):
    def find():
        return next((tab for tab in driver.find_elements(By.CSS_SELECTOR, "button[role=tab]")
                     if tab.text.strip() == name), None)
    wait_for(find, f"the tab {name!r}").click()
    time.sleep(0.3)


def screenshot(driver, folder: Path, name: str):
    """Full-page screenshot (window stretched to the page height)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1366, max(900, min(height + 40, 4000)))
    driver.execute_script("window.scrollTo(0, 0);")
    time.sleep(0.5)
    driver.save_screenshot(str(folder / name))
    driver.set_window_size(1366, 1100)


def test_one_action_per_tab(server, browser, shots):
    browser.get(server)
    wait_for(lambda: "ganstyle" in browser.find_element(By.TAG_NAME, "body").text, "the page to render")
    assert "circle" in browser.find_element(By.ID, "model-line").text

    # Random generation: the default is all styles x 4 images.
    click_text(browser, "button", "Generate")
    count = wait_for(lambda: loaded_images(browser, "generate-gallery") >= 12 and
                     loaded_images(browser, "generate-gallery"), "the generated images")
    assert count >= 12
    screenshot(browser, shots, "1-generate.png")

    # Style transfer: upload a photo, repaint it in 2 variants.
    open_tab(browser, "Style transfer")
    browser.find_element(By.CSS_SELECTOR, "#transfer-photo input[type=file]").send_keys(str(PHOTO))
    wait_for(lambda: loaded_images(browser, "transfer-photo") >= 1, "the uploaded photo's preview")
    click_text(browser, "button", "Repaint")
    wait_for(lambda: loaded_images(browser, "transfer-gallery") >= 2, "the repainted variants")
    wait_for(lambda: loaded_images(browser, "transfer-slider") >= 2, "the before/after images")
    screenshot(browser, shots, "2-transfer.png")
    # Clicking the second variant puts it in the before/after view.
    after = slider_sources(browser)[-1]
    browser.find_elements(By.CSS_SELECTOR, "#transfer-gallery button img")[1].click()
    wait_for(lambda: slider_sources(browser)[-1] != after and loaded_images(browser, "transfer-slider") >= 2,
             "the clicked variant in the before/after view")

    # Interpolation and mixing: frames + GIF, then the mixing grid.
    open_tab(browser, "Interpolation & mixing")
    click_text(browser, "button", "Interpolate")
    wait_for(lambda: loaded_images(browser, "interpolate-gallery") >= 8, "the interpolation frames")
    wait_for(lambda: loaded_images(browser, "interpolate-animation") >= 1, "the animated GIF")
    gif_link = browser.find_element(By.CSS_SELECTOR, "#interpolate-gif a")
    assert gif_link.get_attribute("href").endswith(".gif")
    click_text(browser, "button", "Mix")
    wait_for(lambda: loaded_images(browser, "mix-grid") >= 1, "the mixing grid")
    screenshot(browser, shots, "3-interpolate-mix.png")

    # About: model and styles in plain words; training and metrics in the folded model card.
    open_tab(browser, "About")
    about = wait_for(lambda: browser.find_element(By.ID, "about").text, "the About text")
    assert "circle, square, triangle" in about and "Metrics" not in about
    browser.find_element(By.CSS_SELECTOR, "#model-card-accordion button").click()
    card = wait_for(lambda: browser.find_element(By.ID, "model-card").text, "the model card")
    assert "Metrics" in card and "Training" in card
    screenshot(browser, shots, "4-about.png")


def test_error_message_in_page(server, browser, shots):
    """Repaint without a photo: the page shows the message, and keeps working afterwards."""
    browser.get(server)
    open_tab(browser, "Style transfer")
    click_text(browser, "button", "Repaint")
    wait_for(lambda: "Upload a photo first" in browser.find_element(By.TAG_NAME, "body").text,
             "the error message")
    screenshot(browser, shots, "5-error.png")
    assert "Traceback" not in browser.find_element(By.TAG_NAME, "body").text
    open_tab(browser, "Random generation")
    click_text(browser, "button", "Generate")
    wait_for(lambda: loaded_images(browser, "generate-gallery") >= 12, "images after the error")

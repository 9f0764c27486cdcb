"""An all-French, keyboard-friendly interface, in a real browser (Streamlit in a subprocess,
Chromium driven by Playwright): no label of Streamlit's own reaches the reader in English
(kb/webapp/french.py translates them, .streamlit/config.toml removes the menu), the
« Aller à la recherche » link comes first in the tab order, and the focus can be seen.
"""

from __future__ import annotations

import re

import pytest

from apphelpers import APP_IDLE_JS, PAGE_TIMEOUT, wait_for_app
from kb.localapp import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.model]

# Streamlit's built-in labels (1.67), matched as whole phrases whatever their case
ENGLISH = ["Select all", "Clear all", "Collapse sidebar", "Expand sidebar", "Main menu", "Skip to main content",
           "Show/hide columns", "Download as CSV", "Search", "Fullscreen", "Download as PNG", "Link to heading",
           "Running...", "Running…", "Stop", "Deploy", "Page not found", "does not seem to exist", "Dismiss",
           "Help for", "Choose an option", "No results", "Press Enter", "options available", "Show data",
           "Vega visualization", "Clear value", "Selected values", "App pages", "Copy to clipboard"]
ENGLISH_RE = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in ENGLISH) + r")(?!\w)", re.IGNORECASE)
# short words that French text may hold ("close", "open data"): only as a whole attribute
ENGLISH_ATTRIBUTES = {"open", "close", "sidebar", "remove"}

# every text drawn on the page (icons' ligatures aside: "search" is the magnifier glyph) and
# every aria-label, title and placeholder, hidden elements' included
COLLECT_JS = """() => {
  const out = [];
  const icon = (el) => el.closest('[data-testid="stIconMaterial"]')
    || getComputedStyle(el).fontFamily.includes("Material Symbols");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement, text = node.nodeValue.trim();
    if (!text || !el || el.closest("script, style, noscript") || icon(el)) continue;
    if (el.checkVisibility({visibilityProperty: true, checkVisibilityCSS: true})) out.push(["texte", text]);
  }
  for (const el of document.querySelectorAll("[aria-label], [title], [placeholder]")) {
    for (const name of ["aria-label", "title", "placeholder"]) {
      const value = el.getAttribute(name);
      if (value && value.trim()) out.push([name, value.trim()]);
    }
  }
  return out;
}"""

# the contrast of the sidebar's navigation icons with the sidebar (WCAG relative luminance)
ICON_CONTRAST_JS = """() => {
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92
    : ((v + 0.055) / 1.055) ** 2.4; }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const back = rgb(getComputedStyle(document.querySelector('[data-testid="stSidebar"]')).backgroundColor);
  const icons = [...document.querySelectorAll('[data-testid="stSidebarNav"] [data-testid="stIconMaterial"]')];
  return icons.map((icon) => {
    const [r, g, b, a = 1] = rgb(getComputedStyle(icon).color);
    const fore = [r, g, b].map((v, i) => v * a + back[i] * (1 - a));
    const [hi, lo] = [lum(fore), lum(back)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  });
}"""


def outline_width(page) -> float:
    """The focus ring of the focused element, or of the field's frame around it (px)."""
    return page.evaluate("""() => {
      let widest = 0;
      for (let el = document.activeElement, up = 0; el && up < 4; el = el.parentElement, up++) {
        const style = getComputedStyle(el);
        if (style.outlineStyle !== "none") widest = Math.max(widest, parseFloat(style.outlineWidth));
      }
      return widest;
    }""")


def english_in(found) -> list[str]:
    return sorted({f"{where}: « {text[:100]} »" for where, text in found
                   if ENGLISH_RE.search(text) or (where != "texte" and text.lower() in ENGLISH_ATTRIBUTES)})


def test_interface_is_french_and_starts_with_a_skip_link(server):
    from playwright.sync_api import expect, sync_playwright

    seen: dict[str, list] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # an English browser: the words that Streamlit takes from the browser's language
            # (react-aria's « Dismiss »…) are English too, and must be translated as well
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="en-US")

            def collect(step: str) -> None:
                seen[step] = page.evaluate(COLLECT_JS)

            # Rechercher, with results: the first Tab reaches the skip link, Enter the search box
            page.goto(server + "/?q=m%C3%A9diation+num%C3%A9rique")
            wait_for_app(page)
            box = page.get_by_label("Décrivez votre besoin…")
            expect(box).to_be_visible()
            skip = page.locator(".kb-skip")
            expect(skip).to_have_text("Aller à la recherche")
            page.keyboard.press("Tab")
            expect(skip).to_be_focused()
            assert outline_width(page) >= 2
            page.keyboard.press("Enter")
            expect(box).to_be_focused()
            assert outline_width(page) >= 2
            expect(page.locator('[class*="st-key-card-"]').first).to_be_visible()
            slug = re.search(r"slug=([^&]+)", page.locator('[class*="st-key-card-"] a').first.get_attribute("href"))[1]
            contrasts = page.evaluate(ICON_CONTRAST_JS)
            assert contrasts and min(contrasts) >= 4.5, contrasts
            collect("Rechercher")

            # a multiselect opened: its « Select all » and its announcement
            page.get_by_role("combobox", name="Publics").click()
            expect(page.get_by_role("option").first).to_be_visible()
            collect("Rechercher, liste Publics ouverte")
            page.keyboard.press("Escape")

            # the sidebar closed, then opened again: its two buttons
            page.get_by_test_id("stSidebarCollapseButton").get_by_role("button").click()
            expand = page.get_by_test_id("stExpandSidebarButton")
            expect(expand).to_be_visible()
            collect("Rechercher, menu latéral fermé")
            expand.click()
            expect(page.get_by_test_id("stSidebarCollapseButton")).to_be_attached()

            # Parcourir: a table and charts with their toolbars
            page.goto(server + "/parcourir")
            wait_for_app(page)
            table = page.get_by_test_id("stDataFrame").first
            expect(table).to_be_visible(timeout=PAGE_TIMEOUT)
            table.hover()
            expect(page.get_by_test_id("stVegaLiteChart").first).to_be_attached()
            collect("Parcourir")

            # Mon territoire (a territory chosen), Contribuer, a fiche
            for step, path in [("Mon territoire", "/territoire?code=26362"), ("Contribuer", "/contribuer"),
                               ("Fiche", f"/fiche?slug={slug}")]:
                page.goto(server + path)
                wait_for_app(page)
                collect(step)
            page.keyboard.press("Tab")  # no search box on a fiche: the link leads to the content
            expect(skip).to_have_text("Aller au contenu principal")
            page.keyboard.press("Enter")
            assert page.evaluate("document.activeElement.id") == "stMain"

            # a page that does not exist: Streamlit's dialog, shown before the main page runs
            # (and with it, the script that translates)
            page.goto(server + "/admin")
            expect(page.get_by_role("dialog")).to_be_visible(timeout=PAGE_TIMEOUT)
            expect(skip).to_be_attached(timeout=PAGE_TIMEOUT)
            page.wait_for_function(APP_IDLE_JS, timeout=PAGE_TIMEOUT)
            collect("/admin")
        finally:
            browser.close()

    english = {step: english_in(found) for step, found in seen.items()}
    english = {step: found for step, found in english.items() if found}
    assert not english, "Libellés anglais visibles :\n" + "\n".join(
        f"{step} : " + " ; ".join(found) for step, found in english.items())

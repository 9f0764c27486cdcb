"""The application in a real browser: Streamlit in a subprocess, Chromium driven by Playwright.

Screenshots go to tests/screenshots/ (ignored by git): look at them after a change of layout.
"""

from __future__ import annotations

import re

import pytest

from apphelpers import PAGE_TIMEOUT, wait_for_app
from kb.localapp import CHROMIUM, CHROMIUM_ARGS, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.model]

SHOTS = ROOT / "tests" / "screenshots"


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def link_text(link) -> str:
    return link.locator("p").inner_text().strip()


def test_search_filter_open_a_fiche_and_follow_a_similar_one(browser, server):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    page.goto(server + "/")
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Rechercher une expérience")
    assert page.evaluate("document.documentElement.lang") == "fr"
    expect(page).to_have_title("Rechercher · Banque d'expériences du numérique territorial")

    box = page.get_by_label("Décrivez votre besoin…")
    box.fill("aider les seniors à faire leurs démarches")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=aider"), timeout=PAGE_TIMEOUT)
    wait_for_app(page)
    expect(page.get_by_role("heading", name=re.compile(r"^\d+ fiches? (?:répondent|répond) à votre besoin$"))).to_be_visible()
    cards = page.locator('[class*="st-key-card-"]')
    expect(cards.first).to_be_visible()
    expect(cards.first.locator("mark").first).to_be_visible()  # the matched passage, highlighted
    page.screenshot(path=SHOTS / "01-recherche.png")

    page.get_by_role("combobox", name="Publics").click()
    page.get_by_role("option", name=re.compile(r"^Seniors et personnes âgées \(\d+\)$")).click()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"public=seniors"), timeout=PAGE_TIMEOUT)
    wait_for_app(page)
    expect(cards.first).to_be_visible()
    for index in range(cards.count()):
        expect(cards.nth(index)).to_contain_text("Seniors et personnes âgées")
    page.screenshot(path=SHOTS / "02-recherche-filtree.png")

    first = cards.first.get_by_test_id("stPageLink").locator("a")
    title = link_text(first)
    first.click()
    expect(page).to_have_url(re.compile(r"/fiche\?slug=[a-z0-9-]+$"), timeout=PAGE_TIMEOUT)
    expect(page.get_by_role("heading", level=1)).to_have_text(title, timeout=PAGE_TIMEOUT)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Contexte")).to_be_visible()
    expect(page.get_by_role("heading", name="Fiches similaires")).to_be_visible()
    expect(page).to_have_title(f"{title} · Banque d'expériences du numérique territorial")
    edit = page.get_by_role("link", name=re.compile("Modifier cette fiche dans le dépôt"))
    expect(edit).to_have_attribute("href", re.compile(r"^https://forge\.example/banque/-/edit/main/practices/.+\.md$"))
    page.screenshot(path=SHOTS / "03-fiche.png")
    first_url = page.url

    page.go_back()  # the search comes back, with its filter
    expect(page).to_have_url(re.compile(r"[?&]q=aider.*public=seniors"), timeout=PAGE_TIMEOUT)
    wait_for_app(page)
    expect(page.get_by_role("heading", name=re.compile(r"^\d+ fiches? (?:répondent|répond) à votre besoin$"))).to_be_visible()
    expect(page.get_by_label("Décrivez votre besoin…")).to_have_value("aider les seniors à faire leurs démarches")
    page.go_forward()
    expect(page.get_by_role("heading", level=1)).to_have_text(title, timeout=PAGE_TIMEOUT)
    wait_for_app(page)

    similar = page.locator('[class*="fichelinks"]').get_by_test_id("stPageLink").locator("a")
    expect(similar.first).to_be_visible()
    similar_title = link_text(similar.first)
    similar.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(similar_title, timeout=PAGE_TIMEOUT)
    wait_for_app(page)
    assert page.url != first_url and "/fiche?slug=" in page.url
    page.screenshot(path=SHOTS / "04-fiche-similaire.png")

    page.emulate_media(media="print")
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page.get_by_role("heading", name="Fiches similaires")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.screenshot(path=SHOTS / "05-fiche-impression.png")
    page.close()


def test_fiche_print_copy_and_back_to_the_results(browser, server):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    page.goto(server + "/?q=ateliers+num%C3%A9riques&public=seniors&tri=date")
    wait_for_app(page)
    first = page.locator('[class*="st-key-card-"]').first.get_by_test_id("stPageLink").locator("a")
    title = link_text(first)
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title, timeout=PAGE_TIMEOUT)
    wait_for_app(page)
    fiche_url = page.url
    expect(page.get_by_role("button", name=re.compile("Imprimer"))).to_be_visible()
    copy = page.get_by_role("button", name=re.compile("Copier le lien"))
    expect(copy).to_be_visible()
    copy.click()
    expect(page.get_by_role("status")).to_have_text("Lien copié dans le presse-papiers.")
    assert page.evaluate("navigator.clipboard.readText()") == fiche_url
    printed = page.locator(".kb-print-url")
    expect(printed).to_be_hidden()  # on screen: not shown

    page.emulate_media(media="print")
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("Imprimer"))).to_be_hidden()
    expect(page.get_by_role("link", name="Retour aux résultats")).to_be_hidden()
    expect(printed).to_be_visible()
    expect(printed).to_contain_text(fiche_url)
    page.screenshot(path=SHOTS / "10-fiche-impression-adresse.png", full_page=True)
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Retour aux résultats").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rechercher une expérience", timeout=PAGE_TIMEOUT)
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"[?&]q=ateliers.*public=seniors.*tri=date"))
    expect(page.get_by_label("Décrivez votre besoin…")).to_have_value("ateliers numériques")
    context.close()


def test_shared_url_and_map_of_france(browser, server):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 1100}, locale="fr-FR")
    page.goto(server + "/parcourir?type=communaute-de-communes")
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Parcourir la banque")
    expect(page.get_by_role("combobox", name="Type de territoire")).to_be_visible()
    drome = page.locator('[data-code="26"]').first
    expect(drome).to_be_visible(timeout=PAGE_TIMEOUT)
    assert "Drôme (26)" in drome.locator("title").text_content()
    # overseas départements are on the map too
    for code in ("971", "972", "973", "974", "976"):
        expect(page.locator(f'[data-code="{code}"]').first).to_be_attached()
    page.screenshot(path=SHOTS / "06-parcourir-carte.png")
    drome.click()
    expect(page).to_have_url(re.compile(r"departement=26"), timeout=PAGE_TIMEOUT)
    expect(page).to_have_url(re.compile(r"type=communaute-de-communes"))
    wait_for_app(page)
    expect(page.get_by_role("heading", name=re.compile(r"pour cette sélection$"))).to_be_visible()
    page.screenshot(path=SHOTS / "07-parcourir-departement.png")
    page.close()


def test_small_screen_375px(browser, server):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 375, "height": 812}, locale="fr-FR", is_mobile=True,
                            has_touch=True, device_scale_factor=2)
    page.goto(server + "/?q=m%C3%A9diation%20num%C3%A9rique&statut=en-cours")
    wait_for_app(page)
    expect(page.get_by_label("Décrivez votre besoin…")).to_have_value("médiation numérique")
    expect(page.locator('[class*="st-key-card-"]').first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    page.screenshot(path=SHOTS / "08-mobile-375-recherche.png")
    page.locator('[class*="st-key-card-"]').first.get_by_test_id("stPageLink").locator("a").click()
    expect(page).to_have_url(re.compile(r"/fiche\?slug="), timeout=PAGE_TIMEOUT)
    wait_for_app(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    page.screenshot(path=SHOTS / "09-mobile-375-fiche.png")
    page.close()

"""The storefront page in a real headless Chromium (Debian's chromium and chromium-driver), over the real
storefront: browse, sign in against the emulator's user pool, place an order, watch it become fulfilled, sign out."""

from __future__ import annotations


def test_a_customer_signs_in_places_an_order_sees_it_fulfilled_and_signs_out(storefront, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    from seaway_tools.resources import demo_customers
    from tests.browser import storefront_page as page

    wait = WebDriverWait(browser, 30)
    browser.get(storefront.gateway.url + "/")
    row = page.product_row(browser, wait)
    assert "Espresso beans" in row.text
    place = browser.find_element(By.ID, "place-order")
    assert not place.is_enabled()  # browsing is anonymous; ordering is not

    # A wrong password is refused by the pool, and the page says so.
    page.sign_in(browser, "ada", "not-her-password")
    wait.until(lambda driver: "Sign-in failed" in driver.find_element(By.ID, "sign-in-error").text)

    browser.find_element(By.ID, "username").clear()
    page.sign_in(browser, "ada", dict(demo_customers())["ada"])
    wait.until(expected_conditions.visibility_of_element_located((By.ID, "signed-in")))
    assert browser.find_element(By.ID, "customer").text == "ada"

    status = page.order_and_wait_until_fulfilled(browser, wait, row, 2)
    order_id = status.get_attribute("data-order-id")
    assert order_id and "fulfilled" in status.text

    order = storefront.gateway.get(f"/api/orders/{order_id}", headers=storefront.sign_in("ada")).json()
    assert order["status"] == "fulfilled"
    assert [(line["product_id"], line["quantity"]) for line in order["items"]] == [("espresso-beans", 2)]
    listed = wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, '#orders li[data-status="fulfilled"]'))
    assert any(order_id in item.text for item in listed)
    # The token lives in the page's memory only.
    assert browser.execute_script("return localStorage.length + sessionStorage.length") == 0
    assert browser.get_cookies() == []

    browser.find_element(By.ID, "sign-out").click()
    wait.until(expected_conditions.visibility_of_element_located((By.ID, "sign-in")))
    assert not browser.find_element(By.ID, "signed-in").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#orders li") == []
    assert not browser.find_element(By.ID, "place-order").is_enabled()
    # The page's Content-Security-Policy let it reach the pool and refused nothing it needed.
    refused = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused == []

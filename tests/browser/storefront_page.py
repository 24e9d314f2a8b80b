"""Steps on the storefront page that more than one browser test takes."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions


def product_row(browser, wait, product_id: str = "espresso-beans"):
    """The product's row in the page's table, once the products have loaded."""
    return wait.until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, f'tr[data-product-id="{product_id}"]'))
    )


def sign_in(browser, username: str, password: str) -> None:
    """Fill in and send the sign-in form (the page calls the pool itself)."""
    browser.find_element(By.ID, "username").send_keys(username)
    password_field = browser.find_element(By.ID, "password")
    password_field.clear()
    password_field.send_keys(password)
    browser.find_element(By.ID, "sign-in-button").click()


def order_and_wait_until_fulfilled(browser, wait, row, quantity: int):
    """Order ``quantity`` of the row's product; the order-status element once it says fulfilled."""
    field = row.find_element(By.CSS_SELECTOR, "input.quantity")
    field.clear()
    field.send_keys(str(quantity))
    wait.until(expected_conditions.element_to_be_clickable((By.ID, "place-order"))).click()
    status = browser.find_element(By.ID, "order-status")
    wait.until(lambda _: status.get_attribute("data-status") == "fulfilled")
    return status

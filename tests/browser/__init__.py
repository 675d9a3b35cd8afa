"""Browser tests: the customer's payment page in real headless Chromium (Playwright)."""

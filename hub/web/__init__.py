"""HTTP: the JSON API (OpenAPI at /docs), /metrics, and later the console and Twilio webhooks."""

"""What both apps stand on: the JSON API helpers, rate limits, the LISTEN channel, CSP, health, and the server plumbing (parley/server/)."""

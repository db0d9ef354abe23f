"""The browser console (issue 11): the built single-page app the daemon serves, and the few
browser-facing helpers the JSON API lacks (WebSocket tickets, the user's own agent number)."""

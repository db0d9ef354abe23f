"""FastAGI: the server Asterisk calls from the dialplan before a call enters Stasis (routing, T-15)."""

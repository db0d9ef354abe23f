"""The Asterisk configuration callcore ships (templates in ``asterisk-conf/``) and the process that runs it."""

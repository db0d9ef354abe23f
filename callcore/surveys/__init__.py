"""The post-call satisfaction survey (T-14; the keypad flow W-12's survey calls reuse)."""

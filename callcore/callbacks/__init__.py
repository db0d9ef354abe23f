"""Callbacks (T-11, T-12, 漏接回拨): tasks to call citizens back, the dialer that serves them in the
queues' order, and click-to-dial."""

"""Real peers and a whole running stack, shared by the end-to-end journeys (``tests/e2e``) and the
benchmarks (``bench/``): SIPp scenarios for callers and agent phones, Asterisk plus the daemon on
free loopback ports, and the shipped menu made to answer at any hour."""

"""The IVR (issue 4): menus as data (format, loader, validator), their versions, and the engine that runs them."""

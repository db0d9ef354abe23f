from callcore.cli import main

raise SystemExit(main())

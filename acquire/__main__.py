import sys

from acquire.cli.main import main

sys.exit(main())

import sys

from bench.run import main

# Guarded: the history producers are spawned processes, which import this module again.
if __name__ == "__main__":
    sys.exit(main())

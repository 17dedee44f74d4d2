"""`python -m helpers.environment`: the pre-workshop check.

A package with a __main__ module, not a module run with -m: `helpers/__init__.py` imports the check
(check_environment is a public name), and running an already-imported module would warn (runpy).
"""
import sys

from helpers.environment import main

sys.exit(main())

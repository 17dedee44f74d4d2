"""`python -m helpers.environment`: the pre-workshop check.

A package with a __main__ module, not a module run with -m: the check is also imported as a module
(`from helpers import check_environment`), and runpy warns when it runs a module already imported.
"""
import sys

from helpers.environment import main

sys.exit(main())

"""Client code a learner may copy into a project: auth classes for `requests` and log redaction.

Each module imports nothing else from `helpers`, so one file can be copied out on its own
(a test enforces it).
"""

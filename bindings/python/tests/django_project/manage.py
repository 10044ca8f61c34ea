#!/usr/bin/env python
"""The Django test project of tests/test_django.py: lakelink.django against the emulator."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakesite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

"""The helpline assistant's decisions in plain Python.

Imported by the Rasa side too (emergency.py, sms.py): keep this file free of imports.
"""

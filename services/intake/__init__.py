"""The intake service.

It accepts applications, gives each a record code and an appointment date, never loses one.
"""

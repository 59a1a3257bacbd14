"""The intake service: accepts applications, gives each a record code and an appointment date, never loses one."""

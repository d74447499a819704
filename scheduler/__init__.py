"""Business calendar, release loop and mail outbox of keysvc.

The calendar and the release loop arrive with the scheduler issue; until then
keys are released only by the service itself.
"""

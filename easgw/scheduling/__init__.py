"""The gateway as the scheduling agent (RFC 6638 terms) when ``store.scheduling = "gateway"``.

- :mod:`easgw.scheduling.outgoing`: the iMIP a 16.x organizer's or attendee's
  write makes the gateway send, through the outbox.
- :mod:`easgw.scheduling.local`: attendees who are easgw users of the embedded
  store get the meeting in their own calendar; their answers update the
  organizer's copy.
"""

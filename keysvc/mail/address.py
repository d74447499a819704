"""What a deliverable address is: the one definition that keysvc accepts and mails to.

Every entry point that takes a contact address (``SubmitKeyRequest``,
``CreateContract``) and the composer of the key e-mail call `deliverable_address`,
so an address the API accepts is one the e-mail can be sent to, and an address the
composer would refuse is refused when it is given, naming the field::

    >>> deliverable_address("it@Example.CO.JP")
    'it@example.co.jp'
    >>> deliverable_address("info@例え.jp")
    'info@xn--r8jz45g.jp'
    >>> deliverable_address('"it dept"@example.jp')
    Traceback (most recent call last):
    ...
    keysvc.mail.errors.UndeliverableAddress: not a deliverable e-mail address \
(Quoting the part before the @-sign is not allowed here.): '"it dept"@ex…'

A deliverable address is one ``local@domain``, as an SMTP server takes it in
``RCPT TO`` without extensions (RFC 5321) and as it can stand in a ``To:`` header:

- the local part is a dot-atom of ASCII letters, digits and ``!#$%&'*+/=?^_`{|}~-``,
  dots only between characters and never two in a row, at most 64 characters;
  no quoted local part, comment, display name or angle brackets;
- the domain is a host name with at least one dot: labels of letters, digits and
  inner hyphens, each at most 63 characters, at most 253 in all, a top-level
  label that is not all digits, and not a special-use name (``.test``,
  ``.invalid``, ``.local``, ``localhost`` …); no IP literal (``[192.0.2.1]``);
- the whole, as sent, at most 254 characters (RFC 5321's 256-octet path less
  its angle brackets);
- nothing around it: no spaces, no second address after ``,`` or ``;``.

Internationalised domains (``info@例え.jp``) are accepted and normalised to their
A-labels (``xn--r8jz45g.jp``, IDNA 2008 with UTS 46 mapping), which every SMTP
server and mail client handles without SMTPUTF8. Non-ASCII local parts
(``社員@example.jp``) are refused: they need SMTPUTF8 from every server on the way
to the mailbox, which keysvc cannot know, so such a key e-mail might never arrive.

The normal form is what keysvc stores and sends: the local part as given (its
case may matter to the receiving server; only the role names of RFC 2142 such
as ``Info`` or ``Postmaster`` are written in lower case), the domain in lower
case and A-labels.

The syntax check is the `email-validator` package's, without its DNS lookups
(validation must not touch the network); docs/mail.md says why.
"""

from __future__ import annotations

import functools
from typing import Final

from email_validator import EmailNotValidError, validate_email

from keysvc.mail.errors import UndeliverableAddress

__all__ = ["deliverable_address", "is_deliverable", "shown"]

# Longer input is refused before it is parsed: no normalisation brings it down to 254.
_MAX_INPUT: Final = 1024
# How much of a refused value an error message repeats: enough to recognise it.
_SHOWN_PREFIX: Final = 12


# The same address is checked when accepted, at release and by the composer, and
# email-validator's check (IDNA mapping included) costs far more than a lookup.
# Only accepted addresses are kept: a refusal raises, which the cache does not keep.
@functools.lru_cache(maxsize=4096)
def deliverable_address(value: str) -> str:
    """The normal form of `value` if it is a deliverable address; raises
    `UndeliverableAddress` otherwise (what that is: the module's docstring)."""
    if len(value) > _MAX_INPUT:
        raise UndeliverableAddress("far too long", shown(value))
    try:
        checked = validate_email(
            value,
            check_deliverability=False,  # no DNS: validation stays local and fast
            allow_smtputf8=False,  # non-ASCII local parts need SMTPUTF8 end to end
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            allow_empty_local=False,
            strict=True,  # also holds the local part to RFC 5321's 64 characters
            globally_deliverable=True,  # a dot in the domain, no special-use names
            test_environment=False,
        )
    except EmailNotValidError as error:
        raise UndeliverableAddress(str(error), shown(value)) from None
    # With allow_smtputf8=False every accepted address has an ASCII form, whose
    # length was checked too.
    assert checked.ascii_email is not None, "an ASCII local part has an ASCII form"
    return checked.ascii_email


def is_deliverable(value: str) -> bool:
    """Whether `deliverable_address` accepts `value`."""
    try:
        deliverable_address(value)
    except UndeliverableAddress:
        return False
    return True


def shown(value: str) -> str:
    """A short, escaped prefix of a value for an error message, so that a message
    never repeats a caller's whole input (nor its line breaks).

    >>> shown("it@example.co.jp")
    "'it@example.c…'"
    >>> shown("a\\r\\nb@x.jp")
    "'a\\\\r\\\\nb@x.jp'"
    """
    if len(value) <= _SHOWN_PREFIX:
        return repr(value)
    text = repr(value[:_SHOWN_PREFIX])
    return f"{text[:-1]}…{text[-1]}"

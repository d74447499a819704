"""Addresses of every class that keysvc accepts and refuses, for the tests of the
validator, the composer and the SMTP transport."""

# ruff: noqa: RUF001
# Full-width letters in domains are one of the cases, on purpose.

from __future__ import annotations

import re

from hypothesis import strategies as st

# RFC 5321 as an SMTP server reads RCPT TO without extensions, written independently
# of the validator: a dot-string of atext, then a host name of LDH labels.
ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
SMTP_MAILBOX = re.compile(
    rf"(?=[^@]{{1,64}}@)[{ATEXT}]+(?:\.[{ATEXT}]+)*"
    r"@(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)

ACCEPTED = {
    # what was given: what keysvc stores and sends
    "it@example.co.jp": "it@example.co.jp",
    "first.last@example.jp": "first.last@example.jp",
    "it+keys@example.jp": "it+keys@example.jp",
    "o'brien@example.ie": "o'brien@example.ie",
    "!#$%&'*+/=?^_`{|}~-@example.jp": "!#$%&'*+/=?^_`{|}~-@example.jp",
    "IT@EXAMPLE.CO.JP": "IT@example.co.jp",
    "Postmaster@example.jp": "postmaster@example.jp",  # RFC 2142 role names
    "a@b.example": "a@b.example",
    "a@mail-1.example-2.co.jp": "a@mail-1.example-2.co.jp",
    "a@123.example.jp": "a@123.example.jp",
    "x" * 64 + "@example.jp": "x" * 64 + "@example.jp",
    "a@" + "b" * 63 + ".jp": "a@" + "b" * 63 + ".jp",
    # IDN domains: written in A-labels, so no SMTPUTF8 is needed.
    "info@例え.jp": "info@xn--r8jz45g.jp",
    "kunde@bücher.de": "kunde@xn--bcher-kva.de",
    "it@xn--r8jz45g.jp": "it@xn--r8jz45g.jp",
    "it@ＥＸＡＭＰＬＥ.jp": "it@example.jp",  # full-width letters, mapped (UTS 46)
}

REFUSED = {
    "empty": "",
    "no @": "it.example.jp",
    "no local part": "@example.jp",
    "no domain": "it@",
    "two @": "it@@example.jp",
    "quoted local part": '"it dept"@example.jp',
    "quoted local part without space": '"it"@example.jp',
    "comment": "it(support)@example.jp",
    "display name": "IT <it@example.jp>",
    "angle brackets": "<it@example.jp>",
    "CR LF": "it\r\n@example.jp",
    "header injection": "it@example.jp\r\nBcc: x@evil.example",
    "NUL": "it\x00@example.jp",
    "control character": "it\x01@example.jp",
    "DEL": "it\x7f@example.jp",
    "leading dot": ".it@example.jp",
    "trailing dot": "it.@example.jp",
    "consecutive dots": "i..t@example.jp",
    "space": "i t@example.jp",
    "leading space": " it@example.jp",
    "trailing space": "it@example.jp ",
    "no-break space": "it\u00a0@example.jp",
    "zero-width space": "it\u200b@example.jp",
    "local part over 64": "x" * 65 + "@example.jp",
    "label over 63": "a@" + "b" * 64 + ".jp",
    "domain over 253": "a@" + ".".join(["b" * 63] * 4) + ".jp",
    "address over 254": "x" * 64 + "@" + ".".join(["b" * 62] * 3) + ".example.jp",
    "far too long": "x" * 5000 + "@example.jp",
    "IPv4 literal": "it@[192.0.2.1]",
    "IPv6 literal": "it@[IPv6:2001:db8::1]",
    "bare IP": "it@192.0.2.1",
    "non-ASCII local part": "社員@example.jp",
    "accented local part": "josé@example.es",
    "no dot in domain": "it@localhost",
    "single label": "it@example",
    "special-use .test": "it@example.test",
    "special-use .invalid": "it@keysvc.invalid",
    "special-use .local": "it@printer.local",
    "numeric top-level label": "it@example.123",
    "trailing dot in domain": "it@example.jp.",
    "leading hyphen label": "it@-example.jp",
    "trailing hyphen label": "it@example-.jp",
    "underscore in domain": "it@ex_ample.jp",
    "comma list": "a@example.jp,b@example.jp",
    "semicolon list": "a@example.jp;b@example.jp",
    "backslash": "i\\t@example.jp",
    "colon": "i:t@example.jp",
    "bad A-label": "it@xn--abc.jp",
}


LOCAL_ATOM = st.text(alphabet=st.sampled_from(ATEXT.replace("A-Za-z0-9", "") + "aZ09"), min_size=1)
LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True) | st.sampled_from(
    ["例え", "bücher", "ＥＸ", "xn--r8jz45g", "mail"]
)
PLAUSIBLE = st.builds(
    lambda atoms, labels, top: ".".join(atoms) + "@" + ".".join([*labels, top]),
    st.lists(LOCAL_ATOM, min_size=1, max_size=4),
    st.lists(LABEL, min_size=1, max_size=3),
    st.sampled_from(["jp", "com", "example", "co.jp", "de", "123"]),
)

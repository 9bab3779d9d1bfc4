"""Python approximations of hone's e-mail text views (`hone_data::view`).

HTML tags are stripped by a regex here where hone uses mail-parser's
converter, so the texts are close to, not identical with, what hone reads.
Shared by `spam_views_tfidf.py` and `../baselines/tfidf_lr.py`.
"""
import email
import html
import re
from email import policy


def parse(raw):
    """A raw message as (parsed message, header block, decoded text of every text part)."""
    message = email.message_from_string(raw, policy=policy.compat32)
    body = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            body.append(html.unescape(re.sub(r"<[^>]+>", " ", payload.decode("latin-1"))))
    return message, raw.split("\n\n", 1)[0], "\n".join(body)


def email_view(m, body):
    """The `email` view: subject, sender and body."""
    return f"Subject: {m.get('Subject', '')}\nFrom: {m.get('From', '')}\n{body}"
